#!/usr/bin/env bash
# Schemathesis fuzz of the GraphQL API against a running development server: every query and
# mutation, generated arguments, anonymously and as demo accounts (the admin and the T village
# social worker by default); fails on any 5xx, any INTERNAL, or any error without a stable code
# (scripts/fuzz_hooks.py).
#
#   QIAO_RATE_LIMIT_REQUESTS_PER_MINUTE=1000000 QIAO_RATE_LIMIT_SIGN_INS_PER_MINUTE=1000000 \
#     QIAO_RATE_LIMIT_SUGGESTIONS_PER_MINUTE=1000000 cargo run --release &   # generous limits let the fuzzer through
#   scripts/fuzz.sh [http://127.0.0.1:8080] [examples per operation, default 500]
#
# QIAO_FUZZ_ROLES: who to fuzz as, `anonymous` or demo usernames (default
# "anonymous admin worker.tvillage"); several runs with one role each may go side by side.
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
roles="${QIAO_FUZZ_ROLES:-anonymous admin worker.tvillage}"
status=0
# Mutations that may change the signed-in account itself (an admin fuzzing resetPassword with ids
# learnt from `accounts` resets its own password, and the auth hook cannot sign in again): a
# signed-in role runs them in a pass of their own, after everything else.
own_account='^Mutation\.(resetPassword|setAccountDisabled|changeAccountRole|logout)$'
for who in $roles; do
  user="$who"
  [ "$who" = anonymous ] && user=""
  passes=(all)
  [ -n "$user" ] && passes=(--exclude-name-regex --include-name-regex)
  echo "== fuzzing as $who, $examples examples per operation"
  started=$SECONDS
  for pass in "${passes[@]}"; do
    filter=()
    [ "$pass" != all ] && filter=("$pass" "$own_account")
    QIAO_FUZZ_USER="$user" QIAO_FUZZ_URL="$url" SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH="$(dirname "$0")" \
      "$venv/bin/st" run "$url/graphql" --checks no_internal_error --max-examples "$examples" \
      --workers 2 --no-shrink "${filter[@]}" || status=1
  done
  echo "== $who: $((SECONDS - started)) s"
done
exit "$status"
