#!/usr/bin/env bash
# Private infrastructure for the fault-test suite: a RabbitMQ node, a Postgres cluster and a Ceph RGW
# cluster of its own, on other ports and in one temp dir, so that the suite can stop, kill and restart
# them without touching the machine's shared services. Every process is tracked by its pid file.
#
# Usage: scripts/faults/private-infra.sh up|down|rabbit-stop|rabbit-start|pg-restart|pg-stop|pg-start|rabbit-eval <expr>
# Env: FAULTS_DIR (/tmp/upload-faults-$FAULTS_NAME), FAULTS_NAME (faults), FAULTS_PG_PORT (5499),
#      FAULTS_AMQP_PORT (5699), FAULTS_AMQP_DIST_PORT (25699), FAULTS_RGW_PORT (7499), FAULTS_MON_PORT (6799)
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
load_project_env

NAME=${FAULTS_NAME:-faults}
DIR=${FAULTS_DIR:-/tmp/upload-faults-$NAME}
PG_PORT=${FAULTS_PG_PORT:-5499}
AMQP_PORT=${FAULTS_AMQP_PORT:-5699}
DIST_PORT=${FAULTS_AMQP_DIST_PORT:-25699}
RGW=${FAULTS_RGW_PORT:-7499}
MON=${FAULTS_MON_PORT:-6799}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
NODE="$NAME@localhost"

case "$DIR" in /|/tmp|/tmp/|"$HOME"|"$HOME/") die "refusing to use FAULTS_DIR=$DIR" ;; esac

rabbit_env() {
  export RABBITMQ_NODENAME=$NODE RABBITMQ_NODE_PORT=$AMQP_PORT RABBITMQ_DIST_PORT=$DIST_PORT \
    RABBITMQ_MNESIA_BASE=$DIR/rabbit/mnesia RABBITMQ_LOG_BASE=$DIR/rabbit/log \
    RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/rabbit/enabled_plugins RABBITMQ_PID_FILE=$DIR/rabbit/rabbit.pid \
    RABBITMQ_CONFIG_FILE=$DIR/rabbit/rabbitmq RABBITMQ_ADVANCED_CONFIG_FILE=$DIR/rabbit/advanced.config \
    RABBITMQ_CONF_ENV_FILE=$DIR/rabbit/rabbitmq-env.conf
}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

rabbit_start() {
  rabbit_env
  mkdir -p "$DIR/rabbit/mnesia" "$DIR/rabbit/log"
  [ -f "$DIR/rabbit/enabled_plugins" ] || echo '[].' >"$DIR/rabbit/enabled_plugins"
  touch "$DIR/rabbit/rabbitmq.conf" "$DIR/rabbit/rabbitmq-env.conf"
  [ -f "$DIR/rabbit/advanced.config" ] || echo '[].' >"$DIR/rabbit/advanced.config"
  # the Debian wrappers run the node and the CLI as the rabbitmq user
  [ "$(id -u)" = 0 ] && chown -R rabbitmq: "$DIR/rabbit"
  rabbitmq-server -detached >>"$DIR/rabbit/start.log" 2>&1
  wait_until 60 "rabbitmq $NODE" rabbitmqctl -n "$NODE" -q await_startup --timeout 5 || die "rabbitmq did not start (see $DIR/rabbit/log)"
}
rabbit_stop() {
  rabbit_env
  # Only a node that runs: `rabbitmqctl stop PIDFILE` waits for a pid file that never comes otherwise.
  [ -s "$DIR/rabbit/rabbit.pid" ] || return 0
  timeout 90 rabbitmqctl -n "$NODE" -q stop "$DIR/rabbit/rabbit.pid" >/dev/null 2>&1 || true
}
pg_start() { as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/pg.log" -w -t 60 start >/dev/null; }
pg_stop() { [ -f "$DIR/pg/data/postmaster.pid" ] && as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -m "${1:-fast}" -w -t 30 stop >/dev/null || true; }

up() {
  mkdir -p "$DIR"
  # --- Postgres
  if [ ! -f "$DIR/pg/data/PG_VERSION" ]; then
    mkdir -p "$DIR/pg/data"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$DIR/pg"
    as_pg "$PG_BIN/initdb" -D "$DIR/pg/data" -U postgres -A trust --no-sync >"$DIR/pg/initdb.log" 2>&1 || die "initdb failed: $(tail -n3 "$DIR/pg/initdb.log")"
    cat >>"$DIR/pg/data/postgresql.conf" <<CONF
port = $PG_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR/pg'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
  fi
  # The three start side by side (RabbitMQ and Ceph take most of the time).
  local pids=()
  tcp_open 127.0.0.1 "$PG_PORT" || { pg_start & pids+=($!); }
  tcp_open 127.0.0.1 "$AMQP_PORT" || { rabbit_start & pids+=($!); }
  # Ceph RGW: its own cluster (own dir, monitor and RGW ports, 1 GiB memstore)
  CEPH_DIR=$DIR/ceph RGW_PORT=$RGW CEPH_MON_PORT=$MON CEPH_MEMSTORE_BYTES=${FAULTS_MEMSTORE_BYTES:-1073741824} \
    bash "$REPO_ROOT/scripts/ceph-rgw-up.sh" >"$DIR/ceph-up.log" 2>&1 & pids+=($!)
  local failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  [ "$failed" = 0 ] || die "private infrastructure did not start (see $DIR, $DIR/ceph-up.log)"
  echo "faults infra up in $DIR: postgres 127.0.0.1:$PG_PORT, rabbitmq $NODE 127.0.0.1:$AMQP_PORT, rgw 127.0.0.1:$RGW"
}

down() {
  CEPH_DIR=$DIR/ceph bash "$REPO_ROOT/scripts/ceph-rgw-down.sh" "$DIR/ceph" >&2 || true
  rabbit_stop
  pg_stop immediate
  rm -rf "$DIR"
  echo "faults infra down ($DIR removed)"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  rabbit-stop) rabbit_stop ;;
  rabbit-start) rabbit_start ;;
  pg-stop) pg_stop "${2:-fast}" ;;
  pg-start) pg_start ;;
  # An Erlang expression on the private node only (e.g. a consumer acknowledgement timeout for one test).
  rabbit-eval) rabbit_env; rabbitmqctl -n "$NODE" eval "$2" ;;
  *) die "usage: $0 up|down|rabbit-stop|rabbit-start|pg-stop [mode]|pg-start|rabbit-eval <expr>" ;;
esac
