#!/usr/bin/env bash
# deploy/local/redis.sh up|down|status — a real Redis server (Debian's
# redis-server, Redis 7) for development and tests, daemonized, on
# 127.0.0.1:${WR_LOCAL_REDIS_PORT:-16379}, with its AOF, pid and log in
# ${WR_LOCAL_DIR:-<repo>/.local}/redis. AOF on (appendonly yes), RDB snapshots off.
#
# Knobs: WR_REDIS_READY_TIMEOUT (s, 30), WR_REDIS_STOP_TIMEOUT (s, 30).
# `status` exits 0 when running, 3 when stopped.
set -euo pipefail

WR_COMPONENT="redis"
# shellcheck source-path=SCRIPTDIR source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"

READY_TIMEOUT="${WR_REDIS_READY_TIMEOUT:-30}"
STOP_TIMEOUT="${WR_REDIS_STOP_TIMEOUT:-30}"
RDIR="${WR_LOCAL_DIR}/redis"
PIDFILE="${RDIR}/redis.pid"
LOGFILE="${RDIR}/redis.log"
ADDR="${WR_HOST}:${WR_REDIS_PORT}"

need_bins() {
  command -v redis-server >/dev/null 2>&1 ||
    wr_die "redis-server not found; $(wr_install_hint redis-server redis-tools)"
  command -v redis-cli >/dev/null 2>&1 ||
    wr_die "redis-cli not found; $(wr_install_hint redis-tools)"
}

cli() { redis-cli -h "${WR_HOST}" -p "${WR_REDIS_PORT}" "$@"; }

# Prints the pid of our running redis-server, or nothing.
running_pid() {
  local pid
  pid="$(wr_read_pid "${PIDFILE}")"
  if [[ -n "${pid}" ]] && wr_pid_alive "${pid}" && wr_pid_cmdline_has "${pid}" "redis-server"; then
    printf '%s\n' "${pid}"
  fi
}

pong() { [[ "$(cli ping 2>/dev/null || true)" == "PONG" ]]; }

cmd_up() {
  wr_init_local_dir
  mkdir -p "${RDIR}"
  wr_lock "${RDIR}/.lock"
  need_bins

  local pid start
  pid="$(running_pid)"
  if [[ -n "${pid}" ]] && pong; then
    wr_log "already running on ${ADDR} (pid ${pid})"
    return 0
  fi
  if [[ -z "${pid}" ]]; then
    if [[ -e "${PIDFILE}" ]]; then
      wr_log "removing stale pid file ${PIDFILE}"
      rm -f -- "${PIDFILE}"
    fi
    if wr_port_open "${WR_REDIS_PORT}"; then
      wr_die "${ADDR} is already in use by another process (not this script's Redis); stop it or set WR_LOCAL_REDIS_PORT"
    fi
    start="$(wr_now_ms)"
    if ! redis-server --bind "${WR_HOST}" --port "${WR_REDIS_PORT}" \
      --dir "${RDIR}" --pidfile "${PIDFILE}" --logfile "${LOGFILE}" \
      --appendonly yes --appendfsync everysec --save '' \
      --daemonize yes 9>&-; then
      wr_show_log "${LOGFILE}"
      wr_die "redis-server failed to start (log ${LOGFILE})"
    fi
  else
    start="$(wr_now_ms)"
    wr_log "pid ${pid} is alive but does not answer PING yet; waiting"
  fi

  local deadline=$((SECONDS + READY_TIMEOUT))
  until pong; do
    if ((SECONDS >= deadline)); then
      wr_show_log "${LOGFILE}"
      wr_die "no PONG from ${ADDR} after ${READY_TIMEOUT} s (log ${LOGFILE}); run 'deploy/local/redis.sh down' and retry, or raise WR_REDIS_READY_TIMEOUT"
    fi
    # After daemonizing, a dead server shows up as a missing/stale pid file.
    if (($(wr_now_ms) - start > 2000)) && [[ -z "$(running_pid)" ]]; then
      wr_show_log "${LOGFILE}"
      wr_die "redis-server exited during start-up (log ${LOGFILE})"
    fi
    sleep 0.1
  done
  wr_log "ready on ${ADDR} (pid $(running_pid), started in $(wr_elapsed "${start}") s)"
}

cmd_down() {
  mkdir -p "${RDIR}"
  wr_lock "${RDIR}/.lock"
  local pid start
  pid="$(running_pid)"
  if [[ -z "${pid}" ]]; then
    rm -f -- "${PIDFILE}"
    wr_log "not running"
    return 0
  fi
  start="$(wr_now_ms)"
  # SHUTDOWN flushes the AOF; fall back to SIGTERM (same effect) if it fails.
  if command -v redis-cli >/dev/null 2>&1; then
    cli shutdown >/dev/null 2>&1 || true
  fi
  if ! wr_wait_pid_exit "${pid}" 5; then
    wr_terminate "${pid}" "${STOP_TIMEOUT}" "redis-server"
  fi
  rm -f -- "${PIDFILE}"
  wr_log "stopped in $(wr_elapsed "${start}") s"
}

cmd_status() {
  local pid
  pid="$(running_pid)"
  if [[ -n "${pid}" ]] && pong; then
    wr_log "running on ${ADDR} (pid ${pid}, dir ${RDIR}, log ${LOGFILE})"
  elif [[ -n "${pid}" ]]; then
    wr_log "unhealthy: pid ${pid} alive but no PONG from ${ADDR} (log ${LOGFILE})"
    return 3
  else
    wr_log "stopped (would listen on ${ADDR})"
    return 3
  fi
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*) wr_usage "$0" ;;
esac
