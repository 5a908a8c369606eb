#!/usr/bin/env bash
# A private 3-node RabbitMQ cluster for the cluster fault test: three nodes on this machine with their own
# node names, ports and data dirs (in one temp dir), joined with `rabbitmqctl join_cluster`. Small on purpose
# (one scheduler each, no busy waiting): the machine's shared RabbitMQ is never touched.
#
# Usage: scripts/faults/rabbit-cluster.sh up|down|kill N|start N|leaders|pid N
# Env: CLUSTER_NAME (cluster), CLUSTER_DIR (/tmp/upload-rabbit-cluster-$CLUSTER_NAME),
#      CLUSTER_PORT_BASE (5780): node N listens for AMQP on CLUSTER_PORT_BASE+N-1, distribution on +10+N.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

NAME=${CLUSTER_NAME:-cluster}
DIR=${CLUSTER_DIR:-/tmp/upload-rabbit-cluster-$NAME}
BASE=${CLUSTER_PORT_BASE:-5780}
NODES=(1 2 3)

case "$DIR" in /|/tmp|/tmp/|"$HOME"|"$HOME/") die "refusing to use CLUSTER_DIR=$DIR" ;; esac

node_name() { echo "${NAME}n$1@localhost"; }
amqp_port() { echo $((BASE + $1 - 1)); }

node_env() {
  local n=$1 d=$DIR/n$1
  export RABBITMQ_NODENAME=$(node_name "$n") RABBITMQ_NODE_PORT=$(amqp_port "$n") RABBITMQ_DIST_PORT=$((BASE + 10 + n)) \
    RABBITMQ_MNESIA_BASE=$d/mnesia RABBITMQ_LOG_BASE=$d/log RABBITMQ_ENABLED_PLUGINS_FILE=$d/enabled_plugins \
    RABBITMQ_PID_FILE=$d/rabbit.pid RABBITMQ_CONFIG_FILE=$d/rabbitmq RABBITMQ_ADVANCED_CONFIG_FILE=$d/advanced.config \
    RABBITMQ_CONF_ENV_FILE=$d/rabbitmq-env.conf \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="+S 1:1 +A 4 +sbwt none +sbwtdcpu none +sbwtdio none"
}

node_start() {
  local n=$1 d=$DIR/n$1
  node_env "$n"
  mkdir -p "$d/mnesia" "$d/log"
  [ -f "$d/enabled_plugins" ] || echo '[].' >"$d/enabled_plugins"
  [ -f "$d/rabbitmq.conf" ] || printf 'disk_free_limit.absolute = 50MB\n' >"$d/rabbitmq.conf"
  touch "$d/rabbitmq-env.conf"
  [ -f "$d/advanced.config" ] || echo '[].' >"$d/advanced.config"
  # the Debian wrappers run the node and the CLI as the rabbitmq user
  [ "$(id -u)" = 0 ] && chown -R rabbitmq: "$d"
  rabbitmq-server -detached >>"$d/start.log" 2>&1
  wait_until 90 "rabbitmq $(node_name "$n")" rabbitmqctl -n "$(node_name "$n")" -q await_startup --timeout 5 || die "node $n did not start (see $d/log)"
}

node_pid() { cat "$DIR/n$1/rabbit.pid" 2>/dev/null || true; }

up() {
  mkdir -p "$DIR"
  local t0 pids=() failed=0
  t0=$(now_ms)
  for n in "${NODES[@]}"; do
    tcp_open 127.0.0.1 "$(amqp_port "$n")" && die "port $(amqp_port "$n") is taken (a cluster left running? run: $0 down)"
    node_start "$n" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  [ "$failed" = 0 ] || die "cluster nodes did not start (see $DIR)"
  local first; first=$(node_name 1)
  for n in 2 3; do
    node_env "$n"
    rabbitmqctl -n "$(node_name "$n")" -q stop_app
    rabbitmqctl -n "$(node_name "$n")" -q join_cluster "$first"
    rabbitmqctl -n "$(node_name "$n")" -q start_app
  done
  rabbitmqctl -n "$first" -q await_online_nodes 3 --timeout 60
  echo "rabbitmq cluster up in $(since "$t0") s: $(for n in "${NODES[@]}"; do printf '%s 127.0.0.1:%s ' "$(node_name "$n")" "$(amqp_port "$n")"; done)"
}

down() {
  for n in "${NODES[@]}"; do
    local pid; pid=$(node_pid "$n")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$DIR"
}

# kill -9 of node N's VM (no goodbye to its peers or clients)
kill_node() {
  local pid; pid=$(node_pid "$1")
  [ -n "$pid" ] || die "no pid file for node $1"
  kill -9 "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  echo "killed $(node_name "$1") (pid $pid)"
}

# "<leader node> <queue>" per quorum queue, asked of the first live node
leaders() {
  for n in "${NODES[@]}"; do
    node_env "$n"
    if rabbitmqctl -n "$(node_name "$n")" -q list_queues -p / name type leader --no-table-headers 2>/dev/null | awk '$2 == "quorum" { print $3, $1 }'; then return 0; fi
  done
  die "no node answered"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  kill) kill_node "$2" ;;
  start) node_start "$2" ;;
  leaders) leaders ;;
  pid) node_pid "$2" ;;
  *) die "usage: $0 up|down|kill N|start N|leaders|pid N" ;;
esac
