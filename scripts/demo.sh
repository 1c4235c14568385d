#!/usr/bin/env bash
# `make demo`: the bundled Facebook simulator + pagedesk, wired together, with demo data.
# Safe to run again: migrations and demo data are idempotent and nothing is wiped.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
SIM_PORT=${SIM_PORT:-8100}
SIM_URL="http://${HOST}:${SIM_PORT}"

# The demo talks to the simulator, never to Facebook: both sides share these values.
export FACEBOOK_APP_ID=${DEMO_FACEBOOK_APP_ID:-100000000000999}
export FACEBOOK_APP_SECRET=${DEMO_FACEBOOK_APP_SECRET:-pagedesk-demo-app-secret}
export FACEBOOK_VERIFY_TOKEN=${DEMO_FACEBOOK_VERIFY_TOKEN:-pagedesk-demo-verify-token}
export FACEBOOK_GRAPH_URL="$SIM_URL"
export FACEBOOK_DIALOG_URL="$SIM_URL"
export PAGEDESK_SIMULATOR_URL="$SIM_URL"
# The demo's webhook receivers run on this machine.
export PAGEDESK_WEBHOOKS_ALLOW_PRIVATE=${PAGEDESK_WEBHOOKS_ALLOW_PRIVATE:-true}
# The page token the simulator seeds for its "Acme Support" page (docs/simulator.md).
DEMO_PAGE_TOKEN=${DEMO_PAGE_TOKEN:-EAASIMacmeSupportSeedPageToken0000000000000001}

"$BIN/pagedesk" migrate --no-input -v 0

"$BIN/pagedesk" simulator --host "$HOST" --port "$SIM_PORT" --pagedesk-url "http://${HOST}:${PORT}" \
  --log-level warning &
SIM_PID=$!
SERVE_PID=
trap 'kill "$SIM_PID" 2>/dev/null || true' EXIT

# Ctrl-C (or a SIGTERM) is how the demo ends: stop both servers, wait for them and exit 0. `serve` now
# exits 0 on its own (docs/decisions/graceful-stop.md); the simulator's uvicorn still re-raises the
# signal it shut down on, and with a server in the foreground the script would die of it and make print
# "Error 130" / "Error 143" for a demo that ended as intended.
stop_demo() {
  # Ignored, not reset: make passes its own SIGTERM on to the script after the group's, and a second one
  # arriving while the servers shut down (slower on PostgreSQL) killed the script before it could finish.
  trap '' INT TERM
  kill -TERM $SERVE_PID "$SIM_PID" 2>/dev/null || true
  wait $SERVE_PID "$SIM_PID" 2>/dev/null || true
  echo "pagedesk demo stopped."
  exit 0
}
trap stop_demo INT TERM
for _ in $(seq 1 50); do
  curl -fsS "$SIM_URL/_control/health" >/dev/null 2>&1 && break
  sleep 0.2
done

"$BIN/pagedesk" demo --page-token "$DEMO_PAGE_TOKEN"

cat <<INFO

  pagedesk             http://${HOST}:${PORT}/            (log in with a demo login above)
  API docs             http://${HOST}:${PORT}/api/v1/docs
  Facebook simulator   ${SIM_URL}/chat               (write to Acme Support as a customer)

INFO
# In the background so the trap runs as soon as a signal arrives (bash defers it while a foreground
# command runs); a non-interactive shell also keeps the terminal's Ctrl-C off background jobs, so the
# servers hear it once, from stop_demo.
"$BIN/pagedesk" serve --host "$HOST" --port "$PORT" &
SERVE_PID=$!
status=0
wait "$SERVE_PID" || status=$?
# Only reached when serve ended by itself (e.g. the port is taken): that is a failure worth its status.
exit "$status"
