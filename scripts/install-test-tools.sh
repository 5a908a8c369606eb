#!/usr/bin/env bash
# Debian packages the test suite needs besides Ceph: Chromium (the Uppy browser test drives it headless
# through playwright-core; no browser is ever downloaded) and tmux (the CLI test runs in a pseudo-terminal).
# A no-op when they are installed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v tmux >/dev/null || missing+=(tmux)
if [ ${#missing[@]} -eq 0 ]; then
  echo "test tools: already installed (chromium, tmux)"
  exit 0
fi
command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get: install them by hand"
t0=$(now_ms)
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "test tools: installed ${missing[*]} in $(since "$t0") s"
