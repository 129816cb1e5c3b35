#!/usr/bin/env bash
# deploy/local/install-system.sh — installs the Debian packages that the local
# infrastructure scripts need, and only those that are missing:
#   maven                      resolves the Apache Kafka jars (kafka.sh)
#   openjdk-17-jre-headless    runs Kafka (only when no java >= 17 is found)
#   redis-server, redis-tools  Redis 7 (redis.sh)
#   postgresql                 PostgreSQL server binaries + psql (postgres.sh)
#   prometheus                 Prometheus + promtool (prometheus.sh; the Grafana PromQL tests)
#   chromium                   the real browser the UI tests drive with Playwright (tests/support/browser.py)
#
# Idempotent: when everything is present it does nothing (not even
# `apt-get update`). Debian's postinst scripts would start a default Redis, a
# default PostgreSQL cluster and a default Prometheus on :9090; we block that with a temporary policy-rc.d
# (we never use those: our own servers run on their own ports and data dirs).
set -euo pipefail

WR_COMPONENT="install-system"
# shellcheck source-path=SCRIPTDIR source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"

java_major() {
  local java="java" line
  [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]] && java="${JAVA_HOME}/bin/java"
  command -v "${java}" >/dev/null 2>&1 || return 1
  line="$("${java}" -version 2>&1 | grep -m1 -E 'version "' || true)"
  line="${line#*version \"}"
  line="${line%%\"*}"
  [[ "${line}" == 1.* ]] && line="${line#1.}"
  printf '%s\n' "${line%%[!0-9]*}"
}

have_pg_server() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "${d}/pg_ctl" && -x "${d}/initdb" && -x "${d}/postgres" ]] && return 0
  done
  command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1
}

missing=()
jmajor="$(java_major || true)"
if [[ -z "${jmajor}" || "${jmajor}" -lt 17 ]]; then
  missing+=(JAVA)
fi
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
have_pg_server || missing+=(postgresql)
command -v psql >/dev/null 2>&1 || missing+=(postgresql-client)
if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
  missing+=(prometheus)
fi
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if ((${#missing[@]} == 0)); then
  wr_log "all system packages present (java ${jmajor}, mvn, redis-server, redis-cli, postgresql, prometheus, chromium); nothing to do"
  exit 0
fi

# Pick the privilege escalation before touching apt.
SUDO=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    pretty="${missing[*]}"
    pretty="${pretty//JAVA/openjdk-17-jre-headless}"
    wr_die "not root and sudo is missing; as root run: apt-get update && apt-get install -y --no-install-recommends ${pretty}"
  fi
fi
command -v apt-get >/dev/null 2>&1 ||
  wr_die "apt-get not found: this script supports Debian/Ubuntu only; install by hand: ${missing[*]//JAVA/a Java 17+ JRE}"

wr_log "missing: ${missing[*]//JAVA/java>=17}; running apt-get update"
start_ms="$(wr_now_ms)"
"${SUDO[@]}" apt-get update -q

# Resolve the JRE package now that the index is fresh (Debian 13 has no 17).
pkgs=()
for p in "${missing[@]}"; do
  if [[ "${p}" == JAVA ]]; then
    if [[ -n "$(apt-cache policy openjdk-17-jre-headless 2>/dev/null | grep -E 'Candidate: [^(]' || true)" ]]; then
      pkgs+=(openjdk-17-jre-headless)
    else
      pkgs+=(default-jre-headless)
    fi
  else
    pkgs+=("${p}")
  fi
done

# Keep postinst scripts from starting services (no systemd here, and we do not
# want Debian's default Redis on 6379 / PostgreSQL on 5432 / Prometheus on 9090 anyway).
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e "${policy}" ]]; then
  printf '#!/bin/sh\n# temporary, from workrouter deploy/local/install-system.sh\nexit 101\n' |
    "${SUDO[@]}" tee "${policy}" >/dev/null
  "${SUDO[@]}" chmod 755 "${policy}"
  created_policy=1
fi
cleanup() {
  if ((created_policy)); then "${SUDO[@]}" rm -f "${policy}"; fi
}
trap cleanup EXIT

wr_log "installing: ${pkgs[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -q --no-install-recommends "${pkgs[@]}"

wr_log "done in $(wr_elapsed "${start_ms}") s"
