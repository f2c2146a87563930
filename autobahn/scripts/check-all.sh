#!/usr/bin/env bash
# The conformance check for every adapter, engine and role that has one. Extra arguments (e.g. --quick) go to
# each check. Runs them all, then fails if any failed, naming them.
# The HTTP/2 targets (*-h2: RFC 8441 over h2c) run every family except most of 12.*/13.*, which only repeat
# permessage-deflate over the same stream (the HTTP/1.1 targets run them all): 12.1.*, 13.1.* and 13.7.* (several
# offers) stay (about 155 s for the six on a 2-core machine, against 75–105 s each for all 517). AUTOBAHN_H2_CASES=*
# runs the whole catalogue over HTTP/2 too.
set -u
cd "$(dirname "$0")/.."
H2_CASES=${AUTOBAHN_H2_CASES:-1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*,12.1.*,13.1.*,13.7.*}
failed=()
for spec in node:server node:client bun:server bun:client bun-runtime:server deno:server deno:client deno-runtime:server workers:server \
            node-h2:server node-h2:client bun-h2:server bun-h2:client deno-h2:server deno-h2:client; do
  adapter=${spec%%:*}
  role=${spec##*:}
  extra=()
  case "$adapter" in *-h2) extra=(--cases "$H2_CASES") ;; esac
  echo "=== autobahn: $adapter as $role"
  log=$(mktemp)
  node dist/cli.js check --adapter "$adapter" --role "$role" ${extra[@]+"${extra[@]}"} "$@" >"$log" 2>&1
  rc=$?
  grep -v '^MISSING' "$log" | tail -40
  rm -f "$log"
  if [ "$rc" -ne 0 ]; then failed+=("$adapter-$role"); fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "autobahn: FAILED for ${failed[*]}"
  exit 1
fi
echo "autobahn: every adapter, engine and role passed"
