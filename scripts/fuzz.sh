#!/usr/bin/env bash
# Schemathesis fuzz of the GraphQL API against a running development server: every query and
# mutation, generated arguments, anonymously and as the demo admin; fails on any 5xx, any
# INTERNAL, or any error without a stable code (scripts/fuzz_hooks.py).
#
#   QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE=1000000 cargo run --release &   # the generous limit lets the fuzzer through
#   scripts/fuzz.sh [http://127.0.0.1:8080] [examples per operation, default 500]
#
# Installs schemathesis into a virtual environment (QIAO_FUZZ_VENV, default /tmp/qiao-fuzz-venv).
# The result of the last run is recorded in docs/HARDENING.md.
set -euo pipefail
url="${1:-http://127.0.0.1:8080}"
examples="${2:-500}"
venv="${QIAO_FUZZ_VENV:-/tmp/qiao-fuzz-venv}"
if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'schemathesis>=4.32,<5'
fi
token=$(curl -sf "$url/graphql" -H 'content-type: application/json' \
  -d '{"query":"mutation { login(username: \"admin\", password: \"qiao-demo-pass\") { accessToken } }"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["data"]["login"]["accessToken"])')
status=0
for who in anonymous admin; do
  echo "== fuzzing as $who, $examples examples per operation"
  headers=()
  [ "$who" = admin ] && headers=(-H "Authorization: Bearer $token")
  SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH="$(dirname "$0")" \
    "$venv/bin/st" run "$url/graphql" --checks no_internal_error --max-examples "$examples" \
    --workers 2 --no-shrink "${headers[@]}" || status=1
done
exit "$status"
