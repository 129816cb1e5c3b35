#!/usr/bin/env bash
# deploy/local/infra.sh up|down|status|env|reset [kafka|redis|postgres ...]
#
# Starts/stops the real local infrastructure used by development and tests:
# Apache Kafka (single KRaft node), Redis and PostgreSQL, on 127.0.0.1 only.
#   up      start (all, or the named components); Kafka starts in the
#           background while Redis and PostgreSQL start, then writes
#           ${WR_LOCAL_DIR:-<repo>/.local}/infra.env and prints a summary
#   down    stop, in reverse order (postgres, redis, kafka)
#   status  one line per component; exit 0 only if all are running
#   env     print `export WR_...=...` lines: eval "$(deploy/local/infra.sh env)"
#   reset   down, then delete all local state (Kafka topics, Redis AOF,
#           PostgreSQL cluster); the download cache is kept
# Set WR_INFRA_PARALLEL=0 to start the components one after the other.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"

ALL=(kafka redis postgres)
ENV_FILE="${WR_LOCAL_DIR}/infra.env"

usage() {
  printf 'usage: %s up|down|status|env|reset [kafka|redis|postgres ...]\n' "$0" >&2
  exit 2
}

env_lines() {
  printf 'WR_KAFKA_BOOTSTRAP=%s:%s\n' "${WR_HOST}" "${WR_KAFKA_PORT}"
  printf 'WR_REDIS_URL=redis://%s:%s/0\n' "${WR_HOST}" "${WR_REDIS_PORT}"
  printf 'WR_DATABASE_URL=postgresql://workrouter:workrouter@%s:%s/workrouter\n' "${WR_HOST}" "${WR_PG_PORT}"
}

log_of() {
  case "$1" in
  kafka) printf '%s\n' "${WR_LOCAL_DIR}/kafka/logs/server.log (and kafka.out)" ;;
  redis) printf '%s\n' "${WR_LOCAL_DIR}/redis/redis.log" ;;
  postgres) printf '%s\n' "$(wr_pg_base)/postgres.log" ;;
  esac
}

addr_of() {
  case "$1" in
  kafka) printf '%s:%s\n' "${WR_HOST}" "${WR_KAFKA_PORT}" ;;
  redis) printf '%s:%s\n' "${WR_HOST}" "${WR_REDIS_PORT}" ;;
  postgres) printf '%s:%s\n' "${WR_HOST}" "${WR_PG_PORT}" ;;
  esac
}

url_of() {
  case "$1" in
  kafka) printf 'WR_KAFKA_BOOTSTRAP=%s:%s\n' "${WR_HOST}" "${WR_KAFKA_PORT}" ;;
  redis) printf 'WR_REDIS_URL=redis://%s:%s/0\n' "${WR_HOST}" "${WR_REDIS_PORT}" ;;
  postgres) printf 'WR_DATABASE_URL=postgresql://workrouter:workrouter@%s:%s/workrouter\n' "${WR_HOST}" "${WR_PG_PORT}" ;;
  esac
}

# Reports a failed component with what to do next (appends to FAILED).
FAILED=()
failed() {
  FAILED+=("$1")
  wr_err "$1 failed to $2 — log: $(log_of "$1"); details above. Fix the cause and rerun 'deploy/local/infra.sh $2 $1' (missing packages: deploy/local/install-system.sh; wipe its state: deploy/local/infra.sh reset $1)"
}

cmd_up() {
  local start comp kpid="" rc
  start="$(wr_now_ms)"
  wr_init_local_dir
  for comp in "$@"; do
    if [[ "${comp}" == kafka && "${WR_INFRA_PARALLEL:-1}" != 0 && $# -gt 1 ]]; then
      # Slowest to start (JVM, maybe a first-time Maven resolution): run it
      # concurrently; every line it prints is prefixed with "kafka:".
      "${WR_SCRIPT_DIR}/kafka.sh" up &
      kpid=$!
    elif ! "${WR_SCRIPT_DIR}/${comp}.sh" up; then
      failed "${comp}" up
    fi
  done
  if [[ -n "${kpid}" ]]; then
    rc=0
    wait "${kpid}" || rc=$?
    ((rc == 0)) || failed kafka up
  fi

  if ((${#FAILED[@]})); then
    wr_err "up FAILED for: ${FAILED[*]} (after $(wr_elapsed "${start}") s)"
    exit 1
  fi

  env_lines >"${ENV_FILE}.tmp"
  mv -f -- "${ENV_FILE}.tmp" "${ENV_FILE}"
  printf '\n%-9s %-17s %s\n' COMPONENT LISTENS ENV
  for comp in "${ALL[@]}"; do
    if [[ " $* " == *" ${comp} "* ]]; then
      printf '%-9s %-17s %s\n' "${comp}" "$(addr_of "${comp}")" "$(url_of "${comp}")"
    fi
  done
  # shellcheck disable=SC2016 # literal text for the user
  printf '\nenv file: %s   (or: eval "$(deploy/local/infra.sh env)")\n' "${ENV_FILE}"
  printf 'state:    %s   stop with: deploy/local/infra.sh down\n' "${WR_LOCAL_DIR}"
  wr_log "up in $(wr_elapsed "${start}") s"
}

cmd_down() {
  local start comp i
  start="$(wr_now_ms)"
  for ((i = $#; i >= 1; i--)); do
    comp="${!i}"
    "${WR_SCRIPT_DIR}/${comp}.sh" down || failed "${comp}" down
  done
  if ((${#FAILED[@]})); then
    wr_err "down FAILED for: ${FAILED[*]}"
    exit 1
  fi
  wr_log "down in $(wr_elapsed "${start}") s"
}

cmd_status() {
  local comp rc=0
  for comp in "$@"; do
    "${WR_SCRIPT_DIR}/${comp}.sh" status || rc=3
  done
  return "${rc}"
}

cmd_reset() {
  cmd_down "$@"
  local comp
  for comp in "$@"; do
    case "${comp}" in
    postgres) "${WR_SCRIPT_DIR}/postgres.sh" purge ;;
    *)
      wr_log "deleting ${WR_LOCAL_DIR}/${comp}"
      rm -rf -- "${WR_LOCAL_DIR:?}/${comp}"
      ;;
    esac
  done
  if (($# == ${#ALL[@]})); then
    rm -f -- "${ENV_FILE}" "${WR_LOCAL_DIR}/.gitignore"
    rmdir -- "${WR_LOCAL_DIR}" 2>/dev/null || true
  fi
  wr_log "reset done (download cache kept in ${WR_CACHE_DIR})"
}

action="${1:-}"
[[ -n "${action}" ]] || usage
shift
comps=()
for c in "$@"; do
  case "${c}" in
  kafka | redis | postgres) comps+=("${c}") ;;
  *) usage ;;
  esac
done
# Keep the canonical order (kafka, redis, postgres) whatever the argument order.
selected=()
for c in "${ALL[@]}"; do
  if ((${#comps[@]} == 0)) || [[ " ${comps[*]} " == *" ${c} "* ]]; then selected+=("${c}"); fi
done

case "${action}" in
up) cmd_up "${selected[@]}" ;;
down) cmd_down "${selected[@]}" ;;
status) cmd_status "${selected[@]}" ;;
env) env_lines | sed 's/^/export /' ;;
reset) cmd_reset "${selected[@]}" ;;
*) usage ;;
esac
