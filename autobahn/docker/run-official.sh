#!/usr/bin/env bash
# Run the official Autobahn|Testsuite (crossbario/autobahn-testsuite Docker image) against one adapter.
#
#   autobahn/docker/run-official.sh [--adapter node] [--role server|client] [--quick]
#
# role server: starts the adapter's echo server on port 9001 and runs the official fuzzing client against it
#              (config: autobahn/fuzzingclient.json). Reports: autobahn/reports/official/servers/
# role client: runs the official fuzzing server on port 9001 (config: autobahn/fuzzingserver.json) and the
#              adapter's client driver against it. Reports: autobahn/reports/official/clients/
# --quick excludes 9.*, 12.* and 13.* (the official suite has no scaled-down mode).
# Needs Docker and a build (pnpm build). Uses --network host so 127.0.0.1 works on Linux.
set -euo pipefail

ADAPTER=node
ROLE=server
QUICK=0
while [ $# -gt 0 ]; do
  case "$1" in
    --adapter) ADAPTER="$2"; shift 2 ;;
    --role) ROLE="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PKG="$(dirname "$HERE")"
ROOT="$(dirname "$PKG")"
IMAGE="${AUTOBAHN_IMAGE:-crossbario/autobahn-testsuite}"
PORT=9001

if ! command -v docker >/dev/null 2>&1; then
  echo "docker is not available here; use the TypeScript runner instead: node autobahn/dist/cli.js check --adapter $ADAPTER --role $ROLE" >&2
  exit 3
fi

# Adapter commands come from the same table the TypeScript runner uses.
read -r -a SERVER_CMD <<<"$(node --input-type=module -e "import { ADAPTERS } from '$PKG/dist/adapters.js'; console.log((ADAPTERS['$ADAPTER']?.server?.cmd ?? []).join(' '))")"
read -r -a CLIENT_CMD <<<"$(node --input-type=module -e "import { ADAPTERS } from '$PKG/dist/adapters.js'; console.log((ADAPTERS['$ADAPTER']?.client?.cmd ?? []).join(' '))")"

WORK="$(mktemp -d)"
cleanup() { [ -n "${CHILD:-}" ] && kill "$CHILD" 2>/dev/null || true; docker rm -f autobahn-fuzzingserver >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$PKG/reports/official"
EXCLUDE='[]'
[ "$QUICK" = 1 ] && EXCLUDE='["9.*", "12.*", "13.*"]'

if [ "$ROLE" = server ]; then
  (cd "$ROOT" && PORT=$PORT "${SERVER_CMD[@]}") &
  CHILD=$!
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.2; done
  cat >"$WORK/fuzzingclient.json" <<JSON
{ "options": { "failByDrop": false }, "outdir": "/reports/servers",
  "servers": [ { "agent": "$ADAPTER", "url": "ws://127.0.0.1:$PORT" } ],
  "cases": ["*"], "exclude-cases": $EXCLUDE, "exclude-agent-cases": {} }
JSON
  docker run --rm --network host -v "$WORK:/config" -v "$PKG/reports/official:/reports" "$IMAGE" \
    wstest -m fuzzingclient -s /config/fuzzingclient.json
  echo "reports: $PKG/reports/official/servers/index.html (index.json)"
else
  cat >"$WORK/fuzzingserver.json" <<JSON
{ "url": "ws://127.0.0.1:$PORT", "options": { "failByDrop": false }, "outdir": "/reports/clients",
  "cases": ["*"], "exclude-cases": $EXCLUDE, "exclude-agent-cases": {} }
JSON
  docker run -d --rm --name autobahn-fuzzingserver --network host -v "$WORK:/config" -v "$PKG/reports/official:/reports" "$IMAGE" \
    wstest -m fuzzingserver -s /config/fuzzingserver.json >/dev/null
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.2; done
  (cd "$ROOT" && "${CLIENT_CMD[@]}" "ws://127.0.0.1:$PORT" "$ADAPTER")
  echo "reports: $PKG/reports/official/clients/index.html (index.json)"
fi

# Fail on any FAILED behaviour (same rule as the TypeScript runner's hard failures).
INDEX="$PKG/reports/official/$([ "$ROLE" = server ] && echo servers || echo clients)/index.json"
node --input-type=module -e "
import { readFileSync } from 'node:fs';
const idx = JSON.parse(readFileSync('$INDEX', 'utf8'));
let bad = 0;
for (const [agent, cases] of Object.entries(idx))
  for (const [id, r] of Object.entries(cases))
    if (r.behavior === 'FAILED' || r.behaviorClose === 'FAILED' || r.behaviorClose === 'UNCLEAN') { console.log(agent, id, r.behavior, r.behaviorClose); bad++; }
console.log(bad ? bad + ' failing cases' : 'no failing cases');
process.exit(bad ? 1 : 0);
"
