#!/usr/bin/env bash
# Starts and stops the real services pathgen uses in development: a Temporal dev server (with its
# Web UI) and a MinIO server, both on loopback, with their state under .state/ (gitignored).
#
#   infra/dev.sh up       start both (if not running), wait until healthy, register search
#                         attributes, create the bucket
#   infra/dev.sh down     stop exactly the processes `up` started (by pid file)
#   infra/dev.sh status   say what is running
#   infra/dev.sh logs [temporal|minio]   follow a service's log
#
# Environment (defaults in brackets):
#   PATHGEN_DEV_TEMPORAL_PORT [7233]  PATHGEN_DEV_TEMPORAL_UI_PORT [8233]
#   PATHGEN_DEV_MINIO_PORT [9000]     PATHGEN_DEV_MINIO_CONSOLE_PORT [9001]
#   PATHGEN_S3_ACCESS_KEY [pathgen]   PATHGEN_S3_SECRET_KEY [pathgen-dev-secret]
#   PATHGEN_S3_BUCKET [pathgen]       PATHGEN_DEV_STATE [<repo>/.state]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/.tools/bin"
state="${PATHGEN_DEV_STATE:-$root/.state}"
pids="$state/pids"
logs="$state/logs"
temporal_port="${PATHGEN_DEV_TEMPORAL_PORT:-7233}"
ui_port="${PATHGEN_DEV_TEMPORAL_UI_PORT:-8233}"
minio_port="${PATHGEN_DEV_MINIO_PORT:-9000}"
console_port="${PATHGEN_DEV_MINIO_CONSOLE_PORT:-9001}"
access_key="${PATHGEN_S3_ACCESS_KEY:-pathgen}"
secret_key="${PATHGEN_S3_SECRET_KEY:-pathgen-dev-secret}"
bucket="${PATHGEN_S3_BUCKET:-pathgen}"
# Keep in step with workflows/search-attributes.ts (test/infra/dev-script.test.ts checks).
search_attributes=(PathgenRunId=Keyword PathgenSlideId=Keyword PathgenStage=Keyword PathgenStatus=Keyword PathgenFailureReason=Keyword)

say() { printf 'dev: %s\n' "$*"; }
die() { printf 'dev: ERROR: %s\n' "$*" >&2; exit 1; }

need_tool() {
  [ -x "$bin/$1" ] || die "$bin/$1 is missing: run infra/install-tools.sh first"
}

# A pid from our pid file counts only while that process still runs the binary we started, so a
# recycled pid never gets a signal from us.
running_pid() { # name binary
  local file="$pids/$1.pid" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2" || return 1
  echo "$pid"
}

wait_for() { # description seconds command...
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_temporal() {
  need_tool temporal
  if pid="$(running_pid temporal "$bin/temporal")"; then
    say "Temporal dev server already running (pid $pid)"
    return
  fi
  port_open "$temporal_port" && die "port $temporal_port is taken by a process this script did not start"
  local args=(server start-dev --ip 127.0.0.1 --port "$temporal_port" --ui-port "$ui_port"
    --db-filename "$state/temporal.db" --namespace default --log-level warn)
  for attribute in "${search_attributes[@]}"; do args+=(--search-attribute "$attribute"); done
  say "starting Temporal dev server: gRPC 127.0.0.1:$temporal_port, UI http://127.0.0.1:$ui_port, db $state/temporal.db"
  setsid "$bin/temporal" "${args[@]}" >>"$logs/temporal.log" 2>&1 </dev/null &
  echo $! >"$pids/temporal.pid"
}

start_minio() {
  need_tool minio
  if pid="$(running_pid minio "$bin/minio")"; then
    say "MinIO already running (pid $pid)"
    return
  fi
  port_open "$minio_port" && die "port $minio_port is taken by a process this script did not start"
  mkdir -p "$state/minio"
  say "starting MinIO: S3 http://127.0.0.1:$minio_port, console http://127.0.0.1:$console_port, data $state/minio"
  MINIO_ROOT_USER="$access_key" MINIO_ROOT_PASSWORD="$secret_key" MINIO_BROWSER_REDIRECT=off \
    setsid "$bin/minio" server "$state/minio" --address "127.0.0.1:$minio_port" \
    --console-address "127.0.0.1:$console_port" --quiet >>"$logs/minio.log" 2>&1 </dev/null &
  echo $! >"$pids/minio.pid"
}

temporal_healthy() { "$bin/temporal" operator cluster health --address "127.0.0.1:$temporal_port" | grep -q SERVING; }
minio_healthy() { curl -fsS "http://127.0.0.1:$minio_port/minio/health/ready"; }

create_bucket() {
  if [ ! -f "$root/dist/workers/cli.js" ]; then
    say "building pathgen (npm run build) to create the bucket"
    (cd "$root" && npm run --silent build)
  fi
  PATHGEN_STORAGE_KIND=s3 PATHGEN_S3_ENDPOINT=127.0.0.1 PATHGEN_S3_PORT="$minio_port" PATHGEN_S3_USE_SSL=false \
    PATHGEN_S3_BUCKET="$bucket" PATHGEN_S3_ACCESS_KEY="$access_key" PATHGEN_S3_SECRET_KEY="$secret_key" \
    node "$root/dist/workers/cli.js" store init
}

up() {
  mkdir -p "$pids" "$logs"
  start_temporal
  start_minio
  wait_for "Temporal" 60 temporal_healthy || die "Temporal did not become healthy in 60 s; see $logs/temporal.log"
  say "Temporal is healthy"
  wait_for "MinIO" 60 minio_healthy || die "MinIO did not become healthy in 60 s; see $logs/minio.log"
  say "MinIO is healthy"
  create_bucket
  say "ready. Temporal UI: http://127.0.0.1:$ui_port   MinIO console: http://127.0.0.1:$console_port"
  say "for the s3 store: export PATHGEN_STORAGE_KIND=s3 PATHGEN_S3_ENDPOINT=127.0.0.1 PATHGEN_S3_PORT=$minio_port PATHGEN_S3_USE_SSL=false PATHGEN_S3_BUCKET=$bucket PATHGEN_S3_ACCESS_KEY=$access_key PATHGEN_S3_SECRET_KEY=<secret>"
}

stop_one() { # name binary
  local pid
  if ! pid="$(running_pid "$1" "$2")"; then
    say "$1 not running"
    rm -f "$pids/$1.pid"
    return
  fi
  say "stopping $1 (pid $pid)"
  kill -TERM "$pid"
  if ! wait_for "$1 exit" 15 bash -c "! kill -0 $pid"; then
    say "$1 did not stop in 15 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pids/$1.pid"
}

down() {
  # A worker started by infra/quickstart.sh goes first, while Temporal can still take its goodbye.
  [ -f "$pids/worker.pid" ] && stop_one worker "workers/cli.js worker"
  stop_one temporal "$bin/temporal"
  stop_one minio "$bin/minio"
}

status() {
  local code=0
  for name in temporal minio; do
    if pid="$(running_pid "$name" "$bin/$name")"; then say "$name running (pid $pid)"; else say "$name not running"; code=3; fi
  done
  return $code
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  logs)
    service="${2:-temporal}"
    [ -f "$logs/$service.log" ] || die "no log for $service in $logs"
    tail -n 100 -f "$logs/$service.log"
    ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
