"""Schemathesis hooks for scripts/fuzz.sh.

Qiao answers expected outcomes (not found, forbidden, bad input) as GraphQL errors with a stable
`extensions.code`, which schemathesis' own `not_a_server_error` counts as failures. This check
asks what the API promises instead: never an HTTP 5xx, never `INTERNAL`, and every error coded.
"""
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
