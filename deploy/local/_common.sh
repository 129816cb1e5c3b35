# shellcheck shell=bash disable=SC2034 # variables are used by the sourcing scripts
# deploy/local/_common.sh — helpers shared by the local-infrastructure scripts
# (kafka.sh, redis.sh, postgres.sh, infra.sh). Sourced, never executed.
#
# Environment knobs (all optional):
#   WR_LOCAL_DIR                    state dir (default: <repo root>/.local)
#   WR_CACHE_DIR                    download cache (default: ${XDG_CACHE_HOME:-~/.cache}/workrouter)
#   WR_LOCAL_KAFKA_PORT             Kafka broker port      (default 19092)
#   WR_LOCAL_KAFKA_CONTROLLER_PORT  Kafka controller port  (default 19093)
#   WR_LOCAL_REDIS_PORT             Redis port             (default 16379)
#   WR_LOCAL_PG_PORT                PostgreSQL port        (default 15432)

# Directory of the scripts and the repository root (two levels above them).
WR_SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
WR_REPO_ROOT="$(cd -- "${WR_SCRIPT_DIR}/../.." && pwd -P)"
WR_LOCAL_DIR="${WR_LOCAL_DIR:-${WR_REPO_ROOT}/.local}"
WR_CACHE_DIR="${WR_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/workrouter}"

WR_KAFKA_PORT="${WR_LOCAL_KAFKA_PORT:-19092}"
WR_KAFKA_CONTROLLER_PORT="${WR_LOCAL_KAFKA_CONTROLLER_PORT:-19093}"
WR_REDIS_PORT="${WR_LOCAL_REDIS_PORT:-16379}"
WR_PG_PORT="${WR_LOCAL_PG_PORT:-15432}"
WR_HOST="127.0.0.1"

# Messages are prefixed with the component name so that concurrent output
# from infra.sh stays readable.
WR_COMPONENT="${WR_COMPONENT:-infra}"

wr_log() { printf '%s: %s\n' "${WR_COMPONENT}" "$*"; }
wr_warn() { printf '%s: WARNING: %s\n' "${WR_COMPONENT}" "$*" >&2; }
wr_err() { printf '%s: ERROR: %s\n' "${WR_COMPONENT}" "$*" >&2; }
wr_die() {
  wr_err "$*"
  exit 1
}

# Monotonic-enough wall clock in milliseconds, and elapsed seconds "7.31".
wr_now_ms() {
  local ns
  ns="$(date +%s%N)"
  printf '%s\n' "$((ns / 1000000))"
}
wr_elapsed() { # $1 = start in ms
  local ms=$(($(wr_now_ms) - $1))
  printf '%d.%02d\n' "$((ms / 1000))" "$(((ms % 1000) / 10))"
}

# True when something accepts TCP connections on 127.0.0.1:$1.
wr_port_open() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# True when pid $1 is a live (non-zombie) process.
wr_pid_alive() {
  local pid="$1" state
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  kill -0 "${pid}" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/${pid}/stat" 2>/dev/null || true)"
  [[ "${state}" != "Z" ]]
}

# Prints the pid stored in file $1 (empty when missing/garbage).
wr_read_pid() {
  local pid=""
  if [[ -r "$1" ]]; then read -r pid <"$1" || true; fi
  [[ "${pid}" =~ ^[0-9]+$ ]] && printf '%s\n' "${pid}"
  return 0
}

# True when process $1's command line contains the fixed string $2.
wr_pid_cmdline_has() {
  local cmdline
  cmdline="$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline")" || return 1
  [[ "${cmdline}" == *"$2"* ]]
}

# Waits up to $2 seconds for pid $1 to exit. Returns 1 on timeout.
wr_wait_pid_exit() {
  local pid="$1" deadline=$((SECONDS + $2))
  while wr_pid_alive "${pid}"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# Sends SIGTERM to pid $1 and waits up to $2 s; then SIGKILL. $3 names it in the warning.
wr_terminate() {
  local pid="$1" timeout="$2" what="$3"
  kill -TERM "${pid}" 2>/dev/null || true
  if ! wr_wait_pid_exit "${pid}" "${timeout}"; then
    wr_warn "${what} (pid ${pid}) did not stop within ${timeout} s; sending SIGKILL"
    kill -KILL "${pid}" 2>/dev/null || true
    wr_wait_pid_exit "${pid}" 10 || wr_die "pid ${pid} survived SIGKILL"
  fi
}

# Serializes concurrent invocations for one component: takes an exclusive
# lock on $1 with fd 9. Launch daemons with `9>&-` so they do not inherit it.
wr_lock() {
  mkdir -p "$(dirname -- "$1")"
  exec 9>"$1"
  if ! flock -w 300 9; then
    wr_die "another invocation holds $1 for more than 300 s; giving up"
  fi
}

# Creates the state dir and keeps it out of git whatever .gitignore says.
wr_init_local_dir() {
  mkdir -p "${WR_LOCAL_DIR}"
  [[ -e "${WR_LOCAL_DIR}/.gitignore" ]] || printf '*\n' >"${WR_LOCAL_DIR}/.gitignore"
}

# Prints the last $2 (default 40) lines of log file $1, framed; $3 = label.
wr_show_log() {
  local file="$1" n="${2:-40}" label="${3:-$1}"
  if [[ -s "${file}" ]]; then
    printf -- '----- last %s lines of %s -----\n' "${n}" "${label}" >&2
    tail -n "${n}" -- "${file}" >&2
    printf -- '----- end of %s -----\n' "${label}" >&2
  else
    printf '(%s: nothing logged)\n' "${label}" >&2
  fi
}

wr_install_hint() {
  printf 'run deploy/local/install-system.sh (or: apt-get install -y --no-install-recommends %s)\n' "$*"
}

# Where the PostgreSQL cluster lives: the state dir, unless postgres.sh had to
# move it somewhere the `postgres` OS user can reach (recorded in `location`).
wr_pg_base() {
  local loc="${WR_LOCAL_DIR}/postgres/location" base=""
  if [[ -r "${loc}" ]]; then read -r base <"${loc}" || true; fi
  printf '%s\n' "${base:-${WR_LOCAL_DIR}/postgres}"
}

wr_usage() { # $1 = script name, $2 = extra commands
  printf 'usage: %s up|down|status%s\n' "$1" "${2:-}" >&2
  exit 2
}
