#!/usr/bin/env bash
# deploy/local/prometheus.sh up|down|status|config — a real Prometheus server
# (Debian's `prometheus` package) for development and tests, on
# 127.0.0.1:${WR_LOCAL_PROMETHEUS_PORT:-19090}, with its config, TSDB, pid and
# log in ${WR_LOCAL_DIR:-<repo>/.local}/prometheus.
#
# What it scrapes comes from file service discovery: every
# ${WR_LOCAL_DIR}/prometheus/targets/*.json file is a list of
#   {"targets": ["127.0.0.1:9103"], "labels": {"service": "router"}}
# (job "workrouter", path /metrics). Files can be added and removed while it runs;
# Prometheus picks them up within a second (tests do this: tests/support/prometheus.py).
# `up` writes targets/local.json for the services' default metrics ports once
# (WR_METRICS_PORT defaults, docs/metrics.md); delete or edit it as you like.
#
# The alert rules of deploy/prometheus/alerts.yml are loaded (see Prometheus's /alerts page).
#
# Knobs: WR_LOCAL_PROMETHEUS_PORT (19090), WR_PROMETHEUS_SCRAPE_INTERVAL (1s:
# tests need fresh samples quickly; use 15s for long runs), WR_PROMETHEUS_RETENTION
# (2d), WR_PROMETHEUS_READY_TIMEOUT (s, 30), WR_PROMETHEUS_STOP_TIMEOUT (s, 30).
# `status` exits 0 when running, 3 when stopped. `config` prints the config it uses.
set -euo pipefail

WR_COMPONENT="prometheus"
# shellcheck source-path=SCRIPTDIR source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"

PORT="${WR_LOCAL_PROMETHEUS_PORT:-19090}"
SCRAPE_INTERVAL="${WR_PROMETHEUS_SCRAPE_INTERVAL:-1s}"
RETENTION="${WR_PROMETHEUS_RETENTION:-2d}"
READY_TIMEOUT="${WR_PROMETHEUS_READY_TIMEOUT:-30}"
STOP_TIMEOUT="${WR_PROMETHEUS_STOP_TIMEOUT:-30}"
PDIR="${WR_LOCAL_DIR}/prometheus"
CONF="${PDIR}/prometheus.yml"
TARGETS="${PDIR}/targets"
DATA="${PDIR}/data"
PIDFILE="${PDIR}/prometheus.pid"
LOGFILE="${PDIR}/prometheus.log"
ADDR="${WR_HOST}:${PORT}"
URL="http://${ADDR}"

need_bins() {
  command -v prometheus >/dev/null 2>&1 || wr_die "prometheus not found; $(wr_install_hint prometheus)"
  command -v promtool >/dev/null 2>&1 || wr_die "promtool not found; $(wr_install_hint prometheus)"
}

# Prints the pid of our running prometheus, or nothing.
running_pid() {
  local pid
  pid="$(wr_read_pid "${PIDFILE}")"
  if [[ -n "${pid}" ]] && wr_pid_alive "${pid}" && wr_pid_cmdline_has "${pid}" "${CONF}"; then
    printf '%s\n' "${pid}"
  fi
}

ready() { curl -fsS -m 2 "${URL}/-/ready" >/dev/null 2>&1; }

config_text() {
  cat <<EOF
# Written by deploy/local/prometheus.sh — edits are overwritten by the next 'up'.
global:
  scrape_interval: ${SCRAPE_INTERVAL}
  scrape_timeout: ${SCRAPE_INTERVAL}
  evaluation_interval: ${SCRAPE_INTERVAL}
rule_files: ["${WR_REPO_ROOT}/deploy/prometheus/alerts.yml"]
scrape_configs:
  - job_name: workrouter
    metrics_path: /metrics
    file_sd_configs:
      - files: ["${TARGETS}/*.json"]
        refresh_interval: 5s
EOF
}

write_config() {
  mkdir -p "${TARGETS}" "${DATA}"
  config_text >"${CONF}.tmp"
  promtool check config "${CONF}.tmp" >/dev/null || {
    promtool check config "${CONF}.tmp" >&2 || true
    wr_die "generated config ${CONF}.tmp is invalid"
  }
  mv -f -- "${CONF}.tmp" "${CONF}"
  if [[ ! -e "${TARGETS}/local.json" ]]; then
    local name port sep="" body=""
    for pair in capture:9101 prioritiser:9102 router:9103 escalation:9104 reporting:8090 notifier:9106 api:8080; do
      name="${pair%%:*}" port="${pair##*:}"
      body+="${sep}"$'\n'"  {\"targets\": [\"127.0.0.1:${port}\"], \"labels\": {\"service\": \"${name}\"}}"
      sep=","
    done
    printf '[%s\n]\n' "${body}" >"${TARGETS}/local.json"
  fi
}

cmd_up() {
  wr_init_local_dir
  mkdir -p "${PDIR}"
  wr_lock "${PDIR}/.lock"
  need_bins

  local pid start
  pid="$(running_pid)"
  if [[ -n "${pid}" ]] && ready; then
    wr_log "already running on ${ADDR} (pid ${pid})"
    return 0
  fi
  if [[ -z "${pid}" ]]; then
    rm -f -- "${PIDFILE}"
    if wr_port_open "${PORT}"; then
      wr_die "${ADDR} is already in use by another process (not this script's Prometheus); stop it or set WR_LOCAL_PROMETHEUS_PORT"
    fi
    write_config
    start="$(wr_now_ms)"
    # setsid: own session, so the server survives the calling shell and ^C.
    # shellcheck disable=SC2016 # expanded by the inner bash
    nohup setsid bash -c 'echo "$$" >"$1"; shift; exec "$@"' _ "${PIDFILE}" \
      prometheus --config.file="${CONF}" --storage.tsdb.path="${DATA}" \
      --storage.tsdb.retention.time="${RETENTION}" --web.listen-address="${ADDR}" \
      --web.enable-lifecycle --log.level=warn \
      </dev/null >>"${LOGFILE}" 2>&1 9>&- &
  else
    start="$(wr_now_ms)"
    wr_log "pid ${pid} is alive but not ready yet; waiting"
  fi

  local deadline=$((SECONDS + READY_TIMEOUT))
  until ready; do
    if ((SECONDS >= deadline)); then
      wr_show_log "${LOGFILE}"
      wr_die "${URL}/-/ready did not answer after ${READY_TIMEOUT} s (log ${LOGFILE}); run 'deploy/local/prometheus.sh down' and retry"
    fi
    if (($(wr_now_ms) - start > 1000)) && [[ -z "$(running_pid)" ]]; then
      wr_show_log "${LOGFILE}"
      wr_die "prometheus exited during start-up (log ${LOGFILE})"
    fi
    sleep 0.1
  done
  wr_log "ready on ${ADDR} (pid $(running_pid), started in $(wr_elapsed "${start}") s); targets: ${TARGETS}/*.json"
}

cmd_down() {
  mkdir -p "${PDIR}"
  wr_lock "${PDIR}/.lock"
  local pid start
  pid="$(running_pid)"
  if [[ -z "${pid}" ]]; then
    rm -f -- "${PIDFILE}"
    wr_log "not running"
    return 0
  fi
  start="$(wr_now_ms)"
  wr_terminate "${pid}" "${STOP_TIMEOUT}" "prometheus"
  rm -f -- "${PIDFILE}"
  wr_log "stopped in $(wr_elapsed "${start}") s"
}

cmd_status() {
  local pid
  pid="$(running_pid)"
  if [[ -n "${pid}" ]] && ready; then
    wr_log "running on ${ADDR} (pid ${pid}, data ${DATA}, targets ${TARGETS}, log ${LOGFILE})"
  elif [[ -n "${pid}" ]]; then
    wr_log "unhealthy: pid ${pid} alive but ${URL}/-/ready does not answer (log ${LOGFILE})"
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
config) config_text ;;
*) wr_usage "$0" "|config" ;;
esac
