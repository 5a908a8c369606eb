#!/usr/bin/env bash
# Stop the throwaway Ceph cluster started by scripts/ceph-rgw-up.sh, by its pid
# files only: radosgw first, then the OSD, then the monitor (radosgw can hang
# once the OSD is gone). SIGTERM, then SIGKILL after CEPH_STOP_TIMEOUT seconds (3).
# Usage: scripts/ceph-rgw-down.sh [CEPH_DIR]   (memstore: the stored data is gone)
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
load_project_env

D=${1:-${CEPH_DIR:-/tmp/upload-platform-ceph}}
WAIT=${CEPH_STOP_TIMEOUT:-3}
stopped=()

stop_one() {
  local f=$1 prog=$2 p i t
  [ -f "$f" ] || return 0
  p=$(cat "$f" 2>/dev/null)
  rm -f "$f"
  [[ $p =~ ^[0-9]+$ ]] || return 0
  # only our daemon: the pid must still belong to that program
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$prog" ] || return 0
  t=$(now_ms)
  kill "$p" 2>/dev/null || return 0
  for ((i = 0; i < WAIT * 10; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then
    kill -9 "$p" 2>/dev/null
    stopped+=("$prog($p, killed after $(since "$t") s)")
  else
    stopped+=("$prog($p, $(since "$t") s)")
  fi
}

stop_one "$D/run/rgw.pid" radosgw
stop_one "$D/run/osd.0.pid" ceph-osd
stop_one "$D/run/mon.a.pid" ceph-mon
# the S3 users died with the memstore data
rm -f "$D/s3-users"

if [ ${#stopped[@]} -eq 0 ]; then
  echo "ceph rgw: nothing of ours running in $D"
else
  echo "ceph rgw: stopped ${stopped[*]}"
fi
