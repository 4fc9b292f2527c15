#!/usr/bin/env bash
# Starts the sandbox marketplace, the django-q cluster and the web server, with a connected demo store.
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
source scripts/processes.sh
WEB_PORT=${DEMO_PORT:-8000}
SANDBOX_PORT=${SANDBOX_PORT:-8100}
# the demo store's URLs point at the loopback sandbox: the one extra host its keys may go to
# (and a second sandbox on the next port, for a second demo store: demo_setup prints how to start it)
export MARKETPLACE_EXTRA_HOSTS=${MARKETPLACE_EXTRA_HOSTS:-127.0.0.1:$SANDBOX_PORT,127.0.0.1:$((SANDBOX_PORT + 1))}
mkdir -p .demo
# parcel tracking in the demo: the sandbox carrier's parcels move 60 times faster (delivered in about 35 minutes)
# and the tracking job runs every 2 minutes (see docs/fulfilment.md, "Tracking")
export SANDBOX_CARRIER_TRACKING_SPEED=${SANDBOX_CARRIER_TRACKING_SPEED:-60}
export FULFILMENT_TRACKING_INTERVAL_MINUTES=${FULFILMENT_TRACKING_INTERVAL_MINUTES:-2}
export FULFILMENT_TRACKING_RECHECK_MINUTES=${FULFILMENT_TRACKING_RECHECK_MINUTES:-1}

if [ ! -f .env ]; then
  echo "Creating .env with fresh secrets (FIELD_ENCRYPTION_KEY, DJANGO_SECRET_KEY)"
  {
    echo "FIELD_ENCRYPTION_KEY=$($PY -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
    echo "DJANGO_SECRET_KEY=$($PY -c 'import secrets; print(secrets.token_urlsafe(50))')"
  } > .env
fi

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "Stopping demo..."
  stop_pids
  echo "Stopped."
}
trap cleanup INT TERM EXIT

$PY manage.py migrate --noinput >/dev/null
echo "Database migrated."

$PY manage.py run_sandbox --port "$SANDBOX_PORT" --offers "${DEMO_OFFERS:-2000}" --orders "${DEMO_ORDERS:-300}" \
  > .demo/sandbox.log 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
  curl -sf "http://127.0.0.1:$SANDBOX_PORT/sandbox/status" >/dev/null 2>&1 && break
  sleep 0.2
done
echo "Sandbox marketplace on http://127.0.0.1:$SANDBOX_PORT (log: .demo/sandbox.log)"
# buyer messages on some orders, so the inbox has something on day one (the connect imports 90 days; the sandbox's
# simulator adds more over time)
curl -sf -X POST -H 'Content-Type: application/json' -d '{"count": 40, "days": 10, "unknown_order_every": 15}' \
  "http://127.0.0.1:$SANDBOX_PORT/sandbox/messages" >/dev/null || echo "(could not seed buyer messages)"

$PY manage.py qcluster > .demo/qcluster.log 2>&1 &
pids+=($!)
echo "django-q cluster started (log: .demo/qcluster.log)"

$PY manage.py demo_setup --sandbox-url "http://127.0.0.1:$SANDBOX_PORT" --web-url "http://127.0.0.1:$WEB_PORT"

$PY manage.py runserver --noreload "127.0.0.1:$WEB_PORT" > .demo/web.log 2>&1 &
pids+=($!)
echo "Web server on http://127.0.0.1:$WEB_PORT (log: .demo/web.log). Press Ctrl-C to stop everything."
wait -n "${pids[@]}" || true
