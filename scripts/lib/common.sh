# Shared helpers for the infra scripts. Source it; do not run it.
# shellcheck shell=bash

# Repository root (scripts/lib/..)
REPO_ROOT=${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}

# Load KEY=VALUE lines from a dotenv file, without overriding variables that are
# already set (in the environment, or by a file loaded earlier). No eval: values
# are taken literally, one pair of surrounding quotes is removed.
load_env_defaults() {
  local file=$1 line key val
  [ -f "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    key=${BASH_REMATCH[2]}
    val=${BASH_REMATCH[3]}
    if [[ $val =~ ^\"(.*)\"$ ]] || [[ $val =~ ^\'(.*)\'$ ]]; then val=${BASH_REMATCH[1]}; fi
    if [ -z "${!key+x}" ]; then export "$key=$val"; fi
  done <"$file"
}

# Precedence: environment > .env > .env.example
load_project_env() {
  load_env_defaults "$REPO_ROOT/.env"
  load_env_defaults "$REPO_ROOT/.env.example"
}

# now in milliseconds
now_ms() { date +%s%3N; }
# seconds since $1 (ms), one decimal
since() { local d=$(( $(now_ms) - $1 )); printf '%d.%01d' $((d / 1000)) $(((d % 1000) / 100)); }

log() { printf '%s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# tcp_open HOST PORT: true if something accepts connections there
tcp_open() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# http_answers HOST PORT: true if an HTTP server answers a GET / with a status line
http_answers() {
  local out
  out=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "GET / HTTP/1.0\r\nHost: %s\r\n\r\n" "$0" >&3
    head -c 12 <&3' "$1" "$2" 2>/dev/null) || return 1
  [[ $out == HTTP/1.* ]]
}

# wait_until SECONDS DESCRIPTION CMD...: poll CMD every 0.2 s
wait_until() {
  local limit=$1 what=$2; shift 2
  local deadline=$(( $(now_ms) + limit * 1000 ))
  until "$@"; do
    if [ "$(now_ms)" -ge "$deadline" ]; then log "timed out after ${limit}s waiting for $what"; return 1; fi
    sleep 0.2
  done
}

# parse_url URL PREFIX: sets PREFIX_host PREFIX_port PREFIX_user PREFIX_password PREFIX_path
# (decoded; path without the leading /). Default ports: postgres 5432, amqp 5672, http 80.
parse_url() {
  local -a parts
  mapfile -d '' -t parts < <(node -e '
    const u = new URL(process.argv[1]);
    const def = { "postgres:": "5432", "postgresql:": "5432", "amqp:": "5672", "amqps:": "5671", "http:": "80", "https:": "443" };
    process.stdout.write([
      u.hostname.replace(/^\[|\]$/g, ""), u.port || def[u.protocol] || "",
      decodeURIComponent(u.username), decodeURIComponent(u.password),
      decodeURIComponent(u.pathname.replace(/^\//, "")),
    ].join("\0") + "\0");
  ' "$1") || die "cannot parse URL: $1"
  [ ${#parts[@]} -eq 5 ] || die "cannot parse URL: $1"
  printf -v "${2}_host" '%s' "${parts[0]}"
  printf -v "${2}_port" '%s' "${parts[1]}"
  printf -v "${2}_user" '%s' "${parts[2]}"
  printf -v "${2}_password" '%s' "${parts[3]}"
  printf -v "${2}_path" '%s' "${parts[4]}"
}

is_local_host() { case "$1" in 127.*|localhost|::1) return 0 ;; *) return 1 ;; esac; }

# Run as root, or through sudo when available.
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "need root for: $*"; fi
}

# live_pid PIDFILE PROGRAM: print the pid if that process is alive and is PROGRAM
live_pid() {
  local f=$1 prog=$2 p
  [ -f "$f" ] || return 1
  p=$(cat "$f" 2>/dev/null) || return 1
  [[ $p =~ ^[0-9]+$ ]] && kill -0 "$p" 2>/dev/null || return 1
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$prog" ] || return 1
  echo "$p"
}

# ceph_rgw_running DIR PORT: print radosgw's pid if our radosgw (pid file in DIR) runs and answers HTTP on PORT
ceph_rgw_running() {
  local p
  p=$(live_pid "$1/run/rgw.pid" radosgw) && http_answers 127.0.0.1 "$2" && echo "$p"
}
