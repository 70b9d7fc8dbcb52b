"""Schemathesis hooks for scripts/fuzz.sh.

Qiao answers expected outcomes (not found, forbidden, bad input) as GraphQL errors with a stable
`extensions.code`, which schemathesis' own `not_a_server_error` counts as failures. This check
asks what the API promises instead: never an HTTP 5xx, never `INTERNAL`, and every error coded.

With QIAO_FUZZ_USER set (a demo username), every request is signed in as that account, and the
token is fetched again every 5 minutes: access tokens live 15, a long run outlives several.
"""
import json
import os
import urllib.request

import schemathesis

CODES = {"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND", "BAD_USER_INPUT", "CONFLICT", "RATE_LIMITED"}


@schemathesis.check
def no_internal_error(ctx, response, case):
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}")
    try:
        body = response.json()
    except Exception:
        raise AssertionError("the answer is not JSON")
    for error in (body.get("errors") or []) if isinstance(body, dict) else []:
        code = (error.get("extensions") or {}).get("code")
        if code not in CODES:
            raise AssertionError(f"error with code {code!r}: {error.get('message')}")
    return None


if os.environ.get("QIAO_FUZZ_USER"):

    @schemathesis.auth(refresh_interval=300)
    class DemoAccount:
        def get(self, case, ctx):
            query = "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { accessToken } }"
            body = {"query": query, "variables": {"u": os.environ["QIAO_FUZZ_USER"], "p": "qiao-demo-pass"}}
            request = urllib.request.Request(
                os.environ["QIAO_FUZZ_URL"] + "/graphql",
                data=json.dumps(body).encode(),
                headers={"content-type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)["data"]["login"]["accessToken"]

        def set(self, case, data, ctx):
            case.headers = case.headers or {}
            case.headers["Authorization"] = f"Bearer {data}"
