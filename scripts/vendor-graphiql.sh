#!/usr/bin/env bash
# Refreshes the GraphiQL and React files that `GET /graphql` serves from the binary
# (server/console/vendor/graphiql/), from npm with `npm pack` (no node_modules, no build), and
# records each file's SHA-256 in MANIFEST. A unit test (console::assets) fails when a vendored
# file differs from MANIFEST. Change the versions here, run this, commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."

GRAPHIQL=graphiql@3.8.3
REACT=react@18.3.1
REACT_DOM=react-dom@18.3.1

out=server/console/vendor/graphiql
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "$GRAPHIQL" "$REACT" "$REACT_DOM" >/dev/null)
for package in "$work"/*.tgz; do
  mkdir -p "${package%.tgz}"
  tar xzf "$package" -C "${package%.tgz}"
done

cp "$work"/graphiql-*/package/graphiql.min.js "$out/graphiql.min.js"
cp "$work"/graphiql-*/package/graphiql.min.css "$out/graphiql.min.css"
cp "$work"/react-1*/package/umd/react.production.min.js "$out/react.production.min.js"
cp "$work"/react-dom-*/package/umd/react-dom.production.min.js "$out/react-dom.production.min.js"
# The source maps' comments would make browsers' developer tools ask for files we do not serve.
sed -i '/^\/\/# sourceMappingURL=/d; s#/\*\# sourceMappingURL=[^*]*\*/##' "$out"/*.js "$out"/*.css

{
  echo "# Written by scripts/vendor-graphiql.sh: sha256, file, from which npm package."
  for file in graphiql.min.js:$GRAPHIQL graphiql.min.css:$GRAPHIQL react.production.min.js:$REACT react-dom.production.min.js:$REACT_DOM; do
    name=${file%%:*}
    echo "$(sha256sum "$out/$name" | cut -d' ' -f1)  $name  ${file#*:}"
  done
} > "$out/MANIFEST"
echo "vendored into $out:"
cat "$out/MANIFEST"
