#!/usr/bin/env bash
# deploy/local/postgres.sh up|down|status|purge — a real PostgreSQL server
# (Debian's binaries, newest /usr/lib/postgresql/*/bin, or pg_ctl on PATH)
# for development and tests, on 127.0.0.1:${WR_LOCAL_PG_PORT:-15432}.
#
# The cluster lives in ${WR_LOCAL_DIR:-<repo>/.local}/postgres/data, created
# once with initdb (superuser `postgres`, trust auth, UTF8, no locale). `up`
# also makes sure role `workrouter` (password `workrouter`, LOGIN CREATEDB)
# and database `workrouter` (owned by it) exist.
#
# PostgreSQL refuses to run as root: as root, the cluster is owned by and run
# as the `postgres` OS user (created if missing). If that user cannot reach the
# state dir (e.g. the repo is under /root), the cluster goes to
# /var/lib/workrouter-pg/<id> instead; the path is recorded in
# ${WR_LOCAL_DIR}/postgres/location and printed. `purge` stops the server and
# deletes the cluster wherever it is.
#
# Knobs: WR_PG_BIN (dir with pg_ctl/initdb/postgres), WR_PG_READY_TIMEOUT (s, 60),
#        WR_PG_STOP_TIMEOUT (s, 60). `status` exits 0 when running, 3 when stopped.
set -euo pipefail

WR_COMPONENT="postgres"
# shellcheck source-path=SCRIPTDIR source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"

READY_TIMEOUT="${WR_PG_READY_TIMEOUT:-60}"
STOP_TIMEOUT="${WR_PG_STOP_TIMEOUT:-60}"
STATE="${WR_LOCAL_DIR}/postgres"
LOCATION_FILE="${STATE}/location"
ADDR="${WR_HOST}:${WR_PG_PORT}"
APP_ROLE="workrouter"
APP_PASSWORD="workrouter"
APP_DB="workrouter"

# Set by setup_paths / find_bin.
BASE="" DATA="" LOGFILE="" SOCKDIR="" BIN=""
AS_PG=() # command prefix that runs a command as the cluster owner

is_root() { ((EUID == 0)); }

# Runs "$@" as the cluster owner from / (the caller's cwd may be unreadable).
as_pg() { (cd / && "${AS_PG[@]}" "$@" 9>&-); }

# Picks the server binaries: WR_PG_BIN, else the version matching an existing
# cluster, else the newest /usr/lib/postgresql/*/bin, else pg_ctl on PATH.
find_bin() {
  local d want=""
  if [[ -n "${WR_PG_BIN:-}" ]]; then
    BIN="${WR_PG_BIN}"
  else
    [[ -n "${DATA}" && -r "${DATA}/PG_VERSION" ]] && read -r want <"${DATA}/PG_VERSION"
    if [[ -n "${want}" && -x "/usr/lib/postgresql/${want}/bin/pg_ctl" ]]; then
      BIN="/usr/lib/postgresql/${want}/bin"
    else
      while IFS= read -r d; do
        [[ -x "${d}/pg_ctl" && -x "${d}/initdb" && -x "${d}/postgres" ]] && BIN="${d}"
      done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V)
      if [[ -z "${BIN}" ]] && command -v pg_ctl >/dev/null 2>&1; then
        BIN="$(dirname -- "$(readlink -f -- "$(command -v pg_ctl)")")"
      fi
    fi
  fi
  for d in pg_ctl initdb postgres psql pg_isready; do
    [[ -x "${BIN}/${d}" ]] ||
      wr_die "PostgreSQL server binaries not found (no ${BIN:-/usr/lib/postgresql/*/bin}/${d}); $(wr_install_hint postgresql)"
  done
}

# Prints the major version of the binaries in ${BIN} ("15").
bin_major() {
  local v
  v="$("${BIN}/pg_ctl" --version)"
  v="${v##* }"
  printf '%s\n' "${v%%.*}"
}

ensure_pg_user() {
  if ! id -u postgres >/dev/null 2>&1; then
    wr_log "creating system user 'postgres' (PostgreSQL refuses to run as root)"
    useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
      --shell /usr/sbin/nologin --comment "PostgreSQL administrator" postgres
  fi
  if command -v runuser >/dev/null 2>&1; then
    AS_PG=(runuser -u postgres --)
  else
    AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  fi
}

# Decides BASE (cluster home: data/, postgres.log, run/) and derived paths.
# $1 = "create" to create it when missing.
setup_paths() {
  local create="${1:-}"
  BASE="$(wr_pg_base)"
  if is_root; then
    ensure_pg_user
    if [[ "${create}" == create && ! -f "${LOCATION_FILE}" && ! -e "${STATE}/data" ]]; then
      mkdir -p "${STATE}"
      chown postgres: "${STATE}"
      chmod 0750 "${STATE}"
      if ! as_pg test -w "${STATE}/." -a -x "${STATE}/."; then
        local id
        id="$(printf '%s' "${WR_LOCAL_DIR}" | sha256sum | cut -c1-8)-$(date +%s)"
        BASE="/var/lib/workrouter-pg/${id}"
        mkdir -p /var/lib/workrouter-pg
        chmod 0755 /var/lib/workrouter-pg
        install -d -o postgres -g postgres -m 0750 "${BASE}"
        printf '%s\n' "${BASE}" >"${LOCATION_FILE}"
        wr_log "the 'postgres' OS user cannot reach ${STATE} (a parent directory is not traversable);"
        wr_log "cluster goes to ${BASE} instead (recorded in ${LOCATION_FILE}; 'postgres.sh purge' deletes it)"
      fi
    fi
  elif [[ "${create}" == create ]]; then
    mkdir -p "${BASE}"
    chmod 0700 "${BASE}"
  fi
  DATA="${BASE}/data"
  LOGFILE="${BASE}/postgres.log"
  SOCKDIR="${BASE}/run"
  # Unix socket paths are limited to ~107 bytes.
  ((${#SOCKDIR} + 24 <= 100)) || SOCKDIR="/tmp"
}

pg_running() { [[ -f "${DATA}/PG_VERSION" ]] && as_pg "${BIN}/pg_ctl" -D "${DATA}" status >/dev/null 2>&1; }
pg_ready() { "${BIN}/pg_isready" -q -h "${WR_HOST}" -p "${WR_PG_PORT}" -t 2 >/dev/null 2>&1; }
pg_pid() { head -n1 "${DATA}/postmaster.pid" 2>/dev/null || true; }

# Creates directory $1 (mode 0700) owned by the cluster owner.
pg_mkdir() {
  if is_root; then install -d -o postgres -g postgres -m 0700 "$1"; else install -d -m 0700 "$1"; fi
}

init_cluster() {
  [[ -f "${DATA}/PG_VERSION" ]] && return 0
  local start
  start="$(wr_now_ms)"
  wr_log "initializing a new PostgreSQL $(bin_major) cluster in ${DATA}"
  pg_mkdir "${DATA}"
  if ! as_pg "${BIN}/initdb" -D "${DATA}" -U postgres --auth=trust --encoding=UTF8 \
    --no-locale >"${STATE}/initdb.log" 2>&1; then
    wr_show_log "${STATE}/initdb.log"
    wr_die "initdb failed (log ${STATE}/initdb.log); fix the cause, then: deploy/local/postgres.sh purge && deploy/local/postgres.sh up"
  fi
  printf "include_if_exists = 'workrouter.conf'\t# added by deploy/local/postgres.sh\n" >>"${DATA}/postgresql.conf"
  wr_log "cluster initialized in $(wr_elapsed "${start}") s"
}

write_config() {
  [[ "${SOCKDIR}" == /tmp ]] || pg_mkdir "${SOCKDIR}"
  local conf="${DATA}/workrouter.conf"
  cat >"${conf}" <<EOF
# Written by deploy/local/postgres.sh on every 'up' (included from postgresql.conf).
listen_addresses = '${WR_HOST}'
port = ${WR_PG_PORT}
unix_socket_directories = '${SOCKDIR}'
max_connections = 200
shared_buffers = 128MB
fsync = on
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = -1
EOF
  if is_root; then chown postgres:postgres "${conf}"; fi
}

ensure_app_db() {
  local out
  if ! out="$("${BIN}/psql" -X -q -v ON_ERROR_STOP=1 -h "${WR_HOST}" -p "${WR_PG_PORT}" \
    -U postgres -d postgres 2>&1 <<EOF
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${APP_ROLE}') THEN
    CREATE ROLE ${APP_ROLE} LOGIN CREATEDB PASSWORD '${APP_PASSWORD}';
  ELSE
    ALTER ROLE ${APP_ROLE} LOGIN CREATEDB PASSWORD '${APP_PASSWORD}';
  END IF;
END
\$\$;
-- DROP DATABASE ... WITH (FORCE) (the tests' fresh databases) must end every session in the database,
-- an autovacuum worker's too; without this membership that fails ("must be a member of the role whose
-- process is being terminated") whenever autovacuum happens to be working there.
GRANT pg_signal_backend TO ${APP_ROLE};
SELECT 'CREATE DATABASE ${APP_DB} OWNER ${APP_ROLE}'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${APP_DB}') \gexec
EOF
  )"; then
    printf '%s\n' "${out}" >&2
    wr_die "could not create role/database '${APP_ROLE}' on ${ADDR} (server log ${LOGFILE})"
  fi
}

cmd_up() {
  wr_init_local_dir
  mkdir -p "${STATE}"
  wr_lock "${STATE}/.lock"
  setup_paths create
  find_bin

  if pg_running; then
    if pg_ready; then
      ensure_app_db
      wr_log "already running on ${ADDR} (pid $(pg_pid))"
      return 0
    fi
  else
    if wr_port_open "${WR_PG_PORT}"; then
      wr_die "${ADDR} is already in use by another process (not this script's PostgreSQL); stop it or set WR_LOCAL_PG_PORT"
    fi
    init_cluster
    local have
    read -r have <"${DATA}/PG_VERSION"
    if [[ "${have}" != "$(bin_major)" ]]; then
      wr_die "cluster ${DATA} is PostgreSQL ${have} but the binaries in ${BIN} are $(bin_major); install postgresql-${have} or reset: deploy/local/postgres.sh purge"
    fi
    write_config
  fi

  local start deadline
  start="$(wr_now_ms)"
  if ! pg_running; then
    if ! as_pg "${BIN}/pg_ctl" -D "${DATA}" -l "${LOGFILE}" -w -t "${READY_TIMEOUT}" -s start; then
      wr_show_log "${LOGFILE}"
      wr_die "pg_ctl start failed (log ${LOGFILE}); fix the cause, then 'deploy/local/postgres.sh up' again (reset: deploy/local/postgres.sh purge)"
    fi
  else
    wr_log "server process is up but ${ADDR} does not answer yet; waiting"
  fi
  deadline=$((SECONDS + READY_TIMEOUT))
  until pg_ready; do
    if ((SECONDS >= deadline)); then
      wr_show_log "${LOGFILE}"
      wr_die "${ADDR} not accepting connections after ${READY_TIMEOUT} s (log ${LOGFILE}); try 'deploy/local/postgres.sh down' then 'up'"
    fi
    sleep 0.2
  done
  ensure_app_db
  wr_log "ready on ${ADDR} (pid $(pg_pid), started in $(wr_elapsed "${start}") s, data ${DATA})"
}

cmd_down() {
  mkdir -p "${STATE}"
  wr_lock "${STATE}/.lock"
  setup_paths
  if [[ ! -f "${DATA}/PG_VERSION" ]]; then
    wr_log "not running (no cluster yet)"
    return 0
  fi
  find_bin
  if ! pg_running; then
    wr_log "not running"
    return 0
  fi
  local start
  start="$(wr_now_ms)"
  if ! as_pg "${BIN}/pg_ctl" -D "${DATA}" -m fast -w -t "${STOP_TIMEOUT}" -s stop; then
    wr_warn "fast shutdown did not finish within ${STOP_TIMEOUT} s; using immediate mode (crash recovery on next start)"
    as_pg "${BIN}/pg_ctl" -D "${DATA}" -m immediate -w -t 30 -s stop ||
      wr_die "could not stop PostgreSQL (pid $(pg_pid)); see ${LOGFILE}"
  fi
  wr_log "stopped in $(wr_elapsed "${start}") s"
}

cmd_status() {
  setup_paths
  if [[ ! -f "${DATA}/PG_VERSION" ]]; then
    wr_log "stopped, no cluster yet (would listen on ${ADDR}, data ${DATA})"
    return 3
  fi
  find_bin
  if pg_running && pg_ready; then
    wr_log "running on ${ADDR} (pid $(pg_pid), PostgreSQL $(bin_major), data ${DATA}, log ${LOGFILE})"
  elif pg_running; then
    wr_log "unhealthy: server process up but ${ADDR} not accepting connections (log ${LOGFILE})"
    return 3
  else
    wr_log "stopped (would listen on ${ADDR}, data ${DATA})"
    return 3
  fi
}

cmd_purge() {
  cmd_down
  setup_paths
  wr_log "deleting cluster ${BASE}"
  if [[ "${BASE}" != "${STATE}" ]]; then
    rm -rf -- "${BASE}"
  fi
  rm -rf -- "${STATE}"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
purge) cmd_purge ;;
*) wr_usage "$0" "|purge" ;;
esac
