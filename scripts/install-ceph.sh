#!/usr/bin/env bash
# Install Debian's Ceph packages (monitor, OSD, radosgw) if any of them is missing.
# About 61 MB and 40 s on a clean Debian bookworm machine; a no-op otherwise.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

missing=()
command -v ceph-mon >/dev/null || missing+=(ceph-mon)
command -v ceph-osd >/dev/null || missing+=(ceph-osd)
command -v radosgw >/dev/null || missing+=(radosgw)
# radosgw-admin, ceph, ceph-authtool and monmaptool come with these (ceph-common, ceph-base)
if [ ${#missing[@]} -eq 0 ]; then
  echo "ceph packages: already installed ($(dpkg-query -W -f='${Version}' radosgw 2>/dev/null || echo '?'))"
  exit 0
fi
command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install Ceph (mon, osd, radosgw) by hand"
t0=$(now_ms)
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends ceph-mon ceph-osd radosgw >/dev/null
echo "ceph packages: installed ${missing[*]} in $(since "$t0") s ($(dpkg-query -W -f='${Version}' radosgw))"
