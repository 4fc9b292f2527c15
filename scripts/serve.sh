#!/usr/bin/env bash
# Production mode on one machine: migrate, collect the static files, check the deployment settings, then run the
# web server (gunicorn, static files by whitenoise) and the django-q cluster side by side. Ctrl-C / SIGTERM stops
# both. The same three steps as separate processes are in the Procfile (README, "Production").
# Needs DJANGO_SECRET_KEY, FIELD_ENCRYPTION_KEY and DJANGO_ALLOWED_HOSTS in the environment (or .env);
# DATABASE_URL / REDIS_URL as for every process.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
source scripts/processes.sh
export DJANGO_ENV=${DJANGO_ENV:-production}
missing=()
for name in DJANGO_SECRET_KEY FIELD_ENCRYPTION_KEY DJANGO_ALLOWED_HOSTS; do
  if [ -z "${!name:-}" ] && ! grep -qs "^$name=" .env; then missing+=("$name"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "make serve: set ${missing[*]} (environment or .env); see README, \"Production\"." >&2
  exit 2
fi

$PY manage.py migrate --noinput
$PY manage.py collectstatic --noinput -v 0
$PY manage.py check --deploy --fail-level WARNING

pids=()
stop() {
  trap - INT TERM EXIT
  stop_pids
}
trap stop INT TERM EXIT

.venv/bin/gunicorn fnac_connector.wsgi --config fnac_connector/gunicorn.conf.py &
pids+=($!)
$PY manage.py qcluster &
pids+=($!)
echo "Serving on ${BIND:-0.0.0.0:${PORT:-8000}} (gunicorn, ${WEB_CONCURRENCY:-2} workers) with the django-q cluster."
# one of them ending ends the other: a supervisor (systemd, the platform) restarts the whole
wait -n "${pids[@]}" || true
