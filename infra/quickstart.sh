#!/usr/bin/env bash
# The embedded-defaults job until the demo lands: install the pinned tools, build pathgen, start
# Temporal + MinIO (infra/dev.sh up), start one worker for every queue in the background, and run
# `pathgen doctor` against them. Everything it starts is stopped by `infra/dev.sh down`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
state="${PATHGEN_DEV_STATE:-$root/.state}"
mkdir -p "$state/pids" "$state/logs"

bash infra/install-tools.sh
if [ ! -d node_modules ] || [ ! -f dist/workers/cli.js ]; then
  echo "quickstart: npm install (also builds dist/)"
  npm install --no-audit --no-fund
fi
bash infra/dev.sh up

export PATHGEN_TEMPORAL_ADDRESS="127.0.0.1:${PATHGEN_DEV_TEMPORAL_PORT:-7233}"
pid_file="$state/pids/worker.pid"
if [ -f "$pid_file" ] && tr '\0' ' ' <"/proc/$(cat "$pid_file")/cmdline" 2>/dev/null | grep -q "workers/cli.js worker"; then
  echo "quickstart: worker already running (pid $(cat "$pid_file"))"
else
  echo "quickstart: starting a worker for queues cpu,gpu,agents (log: $state/logs/worker.log)"
  setsid node dist/workers/cli.js worker --queues cpu,gpu,agents >>"$state/logs/worker.log" 2>&1 </dev/null &
  echo $! >"$pid_file"
  for _ in $(seq 1 120); do
    grep -q "polling" "$state/logs/worker.log" 2>/dev/null && break
    sleep 0.5
  done
fi

node dist/workers/cli.js doctor
echo
echo "quickstart: all green. Temporal UI: http://127.0.0.1:${PATHGEN_DEV_TEMPORAL_UI_PORT:-8233}  (stop everything: infra/dev.sh down)"
