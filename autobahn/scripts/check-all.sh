#!/usr/bin/env bash
# The conformance check for every adapter, engine and role that has one. Extra arguments (e.g. --quick) go to
# each check. Runs them all, then fails if any failed, naming them.
set -u
cd "$(dirname "$0")/.."
failed=()
for spec in node:server node:client bun:server bun:client bun-runtime:server deno:server deno:client deno-runtime:server workers:server; do
  adapter=${spec%%:*}
  role=${spec##*:}
  echo "=== autobahn: $adapter as $role"
  log=$(mktemp)
  node dist/cli.js check --adapter "$adapter" --role "$role" "$@" >"$log" 2>&1
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
