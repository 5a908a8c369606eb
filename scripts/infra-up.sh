#!/usr/bin/env bash
# npm run infra:up — start what the apps need that is not already running, and
# wire it up for the namespace in the environment (.env, then .env.example):
#   Postgres   (only if DATABASE_URL's port does not answer; a local cluster on that port)
#   RabbitMQ   (only if AMQP_URL's port does not answer; rabbitmq-server -detached)
#   Ceph RGW   (S3 store on 127.0.0.1:$RGW_PORT; installs ceph-mon ceph-osd radosgw if missing)
#   the database named in DATABASE_URL, then scripts/provision-store.mjs (bucket, CORS,
#   exchanges, RGW topic and bucket notification).
#   pg_stat_statements (what `npm run bench` counts statements with) where it is missing: added to
#   shared_preload_libraries with ALTER SYSTEM; Postgres is restarted for it only when infra:up started
#   that server in this same run, or when INFRA_RESTART_POSTGRES=1 says a restart is fine (a shared server
#   is never restarted behind its users' backs). Then `create extension if not exists` in the database.
# What it starts is recorded in $INFRA_STATE_FILE (default ${CEPH_DIR}.infra-state) so
# that scripts/infra-down.sh stops only that. Safe to run again: it then only checks.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
load_project_env

T0=$(now_ms)
CEPH_DIR=${CEPH_DIR:-/tmp/upload-platform-ceph}
RGW_PORT=${RGW_PORT:-7480}
STATE=${INFRA_STATE_FILE:-${CEPH_DIR%/}.infra-state}
export CEPH_DIR RGW_PORT
: "${DATABASE_URL:?DATABASE_URL is not set}" "${AMQP_URL:?AMQP_URL is not set}"
summary=()

record() { # record WHAT ARGS...: remember that we started it (once)
  touch "$STATE"
  grep -q "^$1 " "$STATE" 2>/dev/null || echo "$*" >>"$STATE"
}
step() { summary+=("$(printf '%-10s %s' "$1" "$2")"); }

# --- Postgres
parse_url "$DATABASE_URL" pg
pg_db=$pg_path
[ -n "$pg_db" ] || die "DATABASE_URL names no database: $DATABASE_URL"
t=$(now_ms)
if tcp_open "$pg_host" "$pg_port"; then
  step postgres "running on $pg_host:$pg_port"
else
  is_local_host "$pg_host" || die "Postgres at $pg_host:$pg_port does not answer (not local: start it yourself)"
  command -v pg_lsclusters >/dev/null || die "Postgres does not answer on $pg_port and is not installed (apt-get install postgresql)"
  # the local cluster configured for that port (Debian's postgresql-common)
  read -r pg_ver pg_cluster < <(pg_lsclusters -h | awk -v p="$pg_port" '$3 == p { print $1, $2; exit }') || true
  [ -n "${pg_ver:-}" ] || die "no local Postgres cluster is configured for port $pg_port (pg_lsclusters)"
  as_root pg_ctlcluster --skip-systemctl-redirect "$pg_ver" "$pg_cluster" start
  wait_until 60 "Postgres on $pg_port" pg_isready -q -h "$pg_host" -p "$pg_port" || die "Postgres did not become ready"
  record postgres "$pg_ver" "$pg_cluster"
  pg_started_here=1
  step postgres "started cluster $pg_ver/$pg_cluster on $pg_host:$pg_port in $(since "$t") s"
fi

# --- RabbitMQ
parse_url "$AMQP_URL" mq
t=$(now_ms)
if tcp_open "$mq_host" "$mq_port"; then
  step rabbitmq "running on $mq_host:$mq_port"
else
  is_local_host "$mq_host" || die "RabbitMQ at $mq_host:$mq_port does not answer (not local: start it yourself)"
  command -v rabbitmq-server >/dev/null || die "RabbitMQ does not answer on $mq_port and is not installed (apt-get install rabbitmq-server)"
  marker=$(mktemp)
  as_root rabbitmq-server -detached >/dev/null
  # a node that fails to boot leaves an Erlang crash dump: stop waiting then
  dump=${ERL_CRASH_DUMP:-/var/log/rabbitmq/erl_crash.dump}
  SECONDS=0
  until tcp_open "$mq_host" "$mq_port"; do
    if [ "$dump" -nt "$marker" ]; then
      rm -f "$marker"; sleep 1 # let the dump be written
      die "RabbitMQ did not start: $(grep -m1 '^Slogan' "$dump" | cut -c1-300) (see /var/log/rabbitmq)"
    fi
    [ $SECONDS -lt 120 ] || { rm -f "$marker"; die "RabbitMQ did not open $mq_host:$mq_port within 120 s (see /var/log/rabbitmq)"; }
    sleep 0.3
  done
  rm -f "$marker"
  record rabbitmq "${RABBITMQ_NODENAME:--}"
  step rabbitmq "started (rabbitmq-server -detached) on $mq_host:$mq_port in $(since "$t") s"
fi

# --- Ceph RGW
t=$(now_ms)
if ! command -v radosgw >/dev/null || ! command -v ceph-mon >/dev/null || ! command -v ceph-osd >/dev/null; then
  bash "$REPO_ROOT/scripts/install-ceph.sh" >&2
fi
if ceph_rgw_running "$CEPH_DIR" "$RGW_PORT" >/dev/null; then
  bash "$REPO_ROOT/scripts/ceph-rgw-up.sh" "$CEPH_DIR" >/dev/null # makes sure the S3 user exists
  step ceph "running on http://127.0.0.1:$RGW_PORT ($CEPH_DIR)"
else
  bash "$REPO_ROOT/scripts/ceph-rgw-up.sh" "$CEPH_DIR" >/dev/null
  record ceph "$CEPH_DIR"
  step ceph "started on http://127.0.0.1:$RGW_PORT in $(since "$t") s ($CEPH_DIR, data in RAM)"
fi
case "${S3_ENDPOINT:-}" in
  *"127.0.0.1:$RGW_PORT"*|*"localhost:$RGW_PORT"*) ;;
  *) log "infra-up: warning: S3_ENDPOINT=${S3_ENDPOINT:-} is not this RGW (127.0.0.1:$RGW_PORT)" ;;
esac

# --- database
t=$(now_ms)
export PGPASSWORD=$pg_password PGCONNECT_TIMEOUT=5
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -h "$pg_host" -p "$pg_port" -U "${pg_user:-postgres}" -d postgres "$@"; }
sql_name=${pg_db//\'/\'\'}
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$sql_name'")" = 1 ]; then
  step database "$pg_db exists"
else
  psql_admin -c "CREATE DATABASE \"${pg_db//\"/\"\"}\"" >/dev/null
  step database "created $pg_db in $(since "$t") s"
fi

# --- pg_stat_statements (npm run bench reads statements per file from it)
# A list setting: each library quoted on its own (ALTER SYSTEM would quote 'a,b' as one name).
quote_list() { local out= x; IFS=, read -ra xs <<<"$1"; for x in "${xs[@]}"; do x=${x//[[:space:]\"]/}; [ -n "$x" ] && out+="${out:+, }'$x'"; done; echo "$out"; }
statement_stats() {
  local loaded pending libs
  loaded=$(psql_admin -tAc "SHOW shared_preload_libraries")
  if [[ ",${loaded//[[:space:]\"]/}," == *,pg_stat_statements,* ]]; then
    psql_admin -d "$pg_db" -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
    step statements "pg_stat_statements loaded, extension in $pg_db"
    return
  fi
  if [ "$(psql_admin -tAc "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_stat_statements'")" != 1 ]; then
    step statements "pg_stat_statements is not installed with this Postgres (postgresql-contrib): the bench reports statements as n/a"
    return
  fi
  if [ "$(psql_admin -tAc "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" != t ]; then
    step statements "pg_stat_statements not loaded and ${pg_user:-postgres} is no superuser: ask for it in shared_preload_libraries (the bench reports statements as n/a)"
    return
  fi
  # What the next start will load: a pending ALTER SYSTEM (postgresql.auto.conf) wins over the running value.
  pending=$(psql_admin -tAc "SELECT setting FROM pg_file_settings WHERE name = 'shared_preload_libraries' ORDER BY seqno DESC LIMIT 1")
  libs=${pending:-$loaded}
  local how="added to shared_preload_libraries (ALTER SYSTEM)"
  if [[ ",${libs//[[:space:]\"]/}," == *,pg_stat_statements,* ]]; then
    how="already pending in shared_preload_libraries (postgresql.auto.conf)"
  else
    psql_admin -c "ALTER SYSTEM SET shared_preload_libraries = $(quote_list "${libs:+$libs,}pg_stat_statements")" >/dev/null
  fi
  if [ "${pg_started_here:-0}" = 1 ] || [ "${INFRA_RESTART_POSTGRES:-0}" = 1 ]; then
    read -r pg_ver pg_cluster < <(pg_lsclusters -h 2>/dev/null | awk -v p="$pg_port" '$3 == p { print $1, $2; exit }') || true
    if is_local_host "$pg_host" && [ -n "${pg_ver:-}" ]; then
      as_root pg_ctlcluster --skip-systemctl-redirect "$pg_ver" "$pg_cluster" restart
      wait_until 60 "Postgres on $pg_port" pg_isready -q -h "$pg_host" -p "$pg_port" || die "Postgres did not come back after the restart for pg_stat_statements"
      psql_admin -d "$pg_db" -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
      step statements "pg_stat_statements $how, cluster $pg_ver/$pg_cluster restarted, extension in $pg_db"
      return
    fi
  fi
  step statements "pg_stat_statements $how; it loads at Postgres's next restart, which infra:up leaves to you on a server it did not start (INFRA_RESTART_POSTGRES=1 lets it restart a local cluster)"
}
statement_stats

# --- bucket, CORS, exchanges, topic, notification
prov=$(node "$REPO_ROOT/scripts/provision-store.mjs")
step store "${prov#provision-store: }"

echo "infra-up: ready in $(since "$T0") s"
printf '  %s\n' "${summary[@]}"
if [ -s "$STATE" ]; then echo "  (infra:down stops: $(cut -d' ' -f1 "$STATE" | paste -sd, -))"; fi
