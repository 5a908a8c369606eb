#!/usr/bin/env bash
# Start a throwaway single-node Ceph cluster serving S3 on 127.0.0.1:$RGW_PORT:
# one monitor, one OSD on memstore (data lives in RAM and is lost when it stops),
# and radosgw. Creates the S3 user S3_ACCESS_KEY / S3_SECRET_KEY.
#
# Usage: scripts/ceph-rgw-up.sh [CEPH_DIR]
# Env (defaults from .env.example / .env): CEPH_DIR (/tmp/upload-platform-ceph),
#   RGW_PORT (7480), CEPH_MON_PORT (6789), S3_ACCESS_KEY, S3_SECRET_KEY,
#   CEPH_MEMSTORE_BYTES (8 GiB: the most the OSD may hold in RAM).
# Idempotent: when our radosgw (pid file in CEPH_DIR) is running and answering,
# it only makes sure the S3 user exists. A half-running cluster is stopped and
# started afresh. Needs the Debian packages ceph-mon ceph-osd radosgw
# (scripts/install-ceph.sh).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
load_project_env

D=${1:-${CEPH_DIR:-/tmp/upload-platform-ceph}}
RGW_PORT=${RGW_PORT:-7480}
MON_PORT=${CEPH_MON_PORT:-6789}
MEMSTORE_BYTES=${CEPH_MEMSTORE_BYTES:-8589934592}
: "${S3_ACCESS_KEY:?S3_ACCESS_KEY is not set}" "${S3_SECRET_KEY:?S3_SECRET_KEY is not set}"
C=(-c "$D/ceph.conf")
T0=$(now_ms)

fail() {
  log "ceph-rgw-up: $*"
  for f in "$D"/log/*.log; do [ -s "$f" ] && { log "--- tail $f"; tail -n 15 "$f" >&2; }; done
  exit 1
}

# Create the S3 user for the current key pair unless this cluster already has it.
ensure_s3_user() {
  local uid users="$D/s3-users"
  uid="user-$(printf '%s' "$S3_ACCESS_KEY" | md5sum | cut -c1-12)"
  if grep -qxF "$S3_ACCESS_KEY $S3_SECRET_KEY" "$users" 2>/dev/null; then return 0; fi
  # same access key with another secret: replace the user
  timeout 60 radosgw-admin "${C[@]}" user rm --uid="$uid" >/dev/null 2>&1 || true
  timeout 60 radosgw-admin "${C[@]}" user create --uid="$uid" --display-name="$uid" \
    --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY" >"$D/log/user-create.out" 2>&1 \
    || fail "radosgw-admin user create failed: $(tail -n 3 "$D/log/user-create.out")"
  echo "$S3_ACCESS_KEY $S3_SECRET_KEY" >>"$users"
  chmod 600 "$users"
  log "ceph-rgw-up: created S3 user $uid (access key $S3_ACCESS_KEY)"
}

# --- already running?
if rgw_pid=$(ceph_rgw_running "$D" "$RGW_PORT"); then
  ensure_s3_user
  echo "ceph rgw: already running (radosgw pid $rgw_pid) on http://127.0.0.1:$RGW_PORT, dir $D"
  exit 0
fi

# --- anything of ours half-running: stop it, start afresh
if live_pid "$D/run/rgw.pid" radosgw >/dev/null || live_pid "$D/run/osd.0.pid" ceph-osd >/dev/null \
   || live_pid "$D/run/mon.a.pid" ceph-mon >/dev/null; then
  log "ceph-rgw-up: cluster in $D is not healthy (radosgw not answering on $RGW_PORT); restarting it"
  bash "$(dirname "${BASH_SOURCE[0]}")/ceph-rgw-down.sh" "$D" >&2
fi

for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool; do
  command -v "$bin" >/dev/null || die "$bin not found: run scripts/install-ceph.sh (apt-get install ceph-mon ceph-osd radosgw)"
done
for port in "$MON_PORT" "$RGW_PORT"; do
  if tcp_open 127.0.0.1 "$port"; then
    die "port 127.0.0.1:$port is already in use by another process ($(ss -ltnpH "sport = :$port" 2>/dev/null | grep -o 'users:.*' | head -n1)); stop it or set RGW_PORT / CEPH_MON_PORT"
  fi
done

case "$D" in /|/tmp|/tmp/|"$HOME"|"$HOME/") die "refusing to use CEPH_DIR=$D" ;; esac
rm -rf "$D"
mkdir -p "$D"/{run,log,mon,osd,rgw}
FSID=$(cat /proc/sys/kernel/random/uuid)
cat >"$D/ceph.conf" <<EOF
# written by scripts/ceph-rgw-up.sh: single-node throwaway cluster for development and tests
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MON_PORT
public network = 127.0.0.0/8
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $D/keyring
run dir = $D/run
admin socket = $D/run/\$name.asok
pid file = $D/run/\$name.pid
log file = $D/log/\$name.log
mon data = $D/mon/\$cluster-\$id
osd data = $D/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = $MEMSTORE_BYTES
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon allow pool delete = true
osd max object name len = 460
osd max object namespace len = 64
ms bind msgr2 = false
# a lone monitor need not batch map updates: each pool radosgw creates at its
# first start otherwise costs a full second
paxos propose interval = 0.05
[osd]
keyring = $D/osd/\$cluster-\$id/keyring
[client.rgw.gw]
keyring = $D/rgw/keyring
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw dns name = localhost
rgw data = $D/rgw
rgw enable usage log = false
rgw thread pool size = 64
EOF

# --- monitor
ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$D/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
# --addv with an explicit v1 address: a plain --add with a port other than 6789 is taken as msgr2,
# and the v1-only monitor then never answers its clients
monmaptool --create --fsid "$FSID" --addv a "[v1:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
mkdir -p "$D/mon/ceph-a"
ceph-mon "${C[@]}" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring" >>"$D/log/start.log" 2>&1 || fail "ceph-mon --mkfs failed"
ceph-mon "${C[@]}" -i a >>"$D/log/start.log" 2>&1 || fail "ceph-mon did not start"
mon_up() { timeout 5 ceph "${C[@]}" --connect-timeout 4 mon stat >/dev/null 2>&1; }
wait_until 60 "the monitor" mon_up || fail "monitor not answering"
T_MON=$(since "$T0")

# --- OSD (memstore)
OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_ID=$(timeout 30 ceph "${C[@]}" osd new "$OSD_UUID" 2>>"$D/log/start.log") || fail "ceph osd new failed"
[ "$OSD_ID" = 0 ] || fail "unexpected OSD id '$OSD_ID' (expected 0)"
mkdir -p "$D/osd/ceph-0"
timeout 30 ceph "${C[@]}" auth get-or-create osd.0 osd 'allow *' mon 'allow profile osd' mgr 'allow profile osd' \
  -o "$D/osd/ceph-0/keyring" >>"$D/log/start.log" 2>&1 || fail "OSD key creation failed"
ceph-osd "${C[@]}" -i 0 --mkfs --no-mon-config --osd-uuid "$OSD_UUID" >>"$D/log/start.log" 2>&1 || fail "ceph-osd --mkfs failed"
ceph-osd "${C[@]}" -i 0 >>"$D/log/start.log" 2>&1 || fail "ceph-osd did not start"
osd_up() { timeout 5 ceph "${C[@]}" --connect-timeout 4 osd stat 2>/dev/null | grep -q ' 1 up'; }
wait_until 60 "the OSD" osd_up || fail "OSD not up"
T_OSD=$(since "$T0")

# --- radosgw
timeout 30 ceph "${C[@]}" auth get-or-create client.rgw.gw mon 'allow rw' osd 'allow rwx' \
  -o "$D/rgw/keyring" >>"$D/log/start.log" 2>&1 || fail "radosgw key creation failed"
radosgw "${C[@]}" -n client.rgw.gw --pid-file "$D/run/rgw.pid" >>"$D/log/start.log" 2>&1 || fail "radosgw did not start"
wait_until 90 "radosgw on 127.0.0.1:$RGW_PORT" http_answers 127.0.0.1 "$RGW_PORT" || fail "radosgw not answering"
T_RGW=$(since "$T0")

ensure_s3_user

echo "ceph rgw: started in $(since "$T0") s (mon ${T_MON} s, osd ${T_OSD} s, rgw ${T_RGW} s) on http://127.0.0.1:$RGW_PORT," \
  "pids mon $(cat "$D/run/mon.a.pid") osd $(cat "$D/run/osd.0.pid") rgw $(cat "$D/run/rgw.pid"), dir $D"
