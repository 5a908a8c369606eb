#!/usr/bin/env bash
# npm run infra:down — stop only what scripts/infra-up.sh started (recorded in
# $INFRA_STATE_FILE, default ${CEPH_DIR}.infra-state): Ceph RGW first, then
# RabbitMQ, then Postgres. Services that were already running stay up.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
load_project_env

CEPH_DIR=${CEPH_DIR:-/tmp/upload-platform-ceph}
RGW_PORT=${RGW_PORT:-7480}
STATE=${INFRA_STATE_FILE:-${CEPH_DIR%/}.infra-state}
T0=$(now_ms)
rc=0

entry() { grep -m1 "^$1 " "$STATE" 2>/dev/null; }

if [ ! -s "$STATE" ]; then
  echo "infra-down: nothing was started by infra:up (no $STATE)"
  if ceph_rgw_running "$CEPH_DIR" "$RGW_PORT" >/dev/null; then
    echo "  ceph rgw in $CEPH_DIR is running but was not started by infra:up; scripts/ceph-rgw-down.sh stops it"
  fi
  exit 0
fi

if e=$(entry ceph); then
  read -r _ dir <<<"$e"
  bash "$REPO_ROOT/scripts/ceph-rgw-down.sh" "${dir:-$CEPH_DIR}" || rc=1
fi
if e=$(entry rabbitmq); then
  read -r _ node <<<"$e"
  [ "$node" = - ] && node=
  if as_root rabbitmqctl ${node:+-n "$node"} stop >/dev/null 2>&1; then
    echo "rabbitmq: stopped${node:+ node $node}"
  else
    echo "rabbitmq: not stopped (was it already down?)"
  fi
fi
if e=$(entry postgres); then
  read -r _ ver cluster <<<"$e"
  if as_root pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" stop; then
    echo "postgres: stopped cluster $ver/$cluster"
  else
    echo "postgres: cluster $ver/$cluster not stopped"; rc=1
  fi
fi
rm -f "$STATE"
echo "infra-down: done in $(since "$T0") s"
exit $rc
