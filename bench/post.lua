-- wrk script for bench/search.sh: POSTs one GraphQL request body, read from the file named by
-- the first script argument, to the URL wrk was given.
--   wrk ... -s bench/post.lua http://127.0.0.1:PORT/graphql -- /path/to/body.json
-- Only the request is built here (once per thread); responses are not inspected, so that wrk
-- spends as little CPU as possible on the two cores it shares with the server. search.sh checks
-- every body's response with curl before and after the load instead.

function init(args)
  local path = args[1]
  local file = assert(io.open(path or "", "rb"), "post.lua: cannot read the body file " .. tostring(path))
  wrk.body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  -- What the app sends (see README); the server gzips the response.
  wrk.headers["Accept-Encoding"] = "gzip"
end
