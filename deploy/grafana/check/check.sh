#!/usr/bin/env bash
# deploy/grafana/check/check.sh — decode every dashboard of deploy/grafana/dashboards strictly against
# Grafana's schema (grafana-foundation-sdk Go module, Grafana 11.6 models) and validate it; exit 1 on
# any problem. `make grafana-check` runs it (and `make lint`).
#
# Needs Go (1.22 or newer; /usr/local/go/bin/go is used when `go` is not on PATH). A fresh machine
# fetches the module from the Go module proxy (go.sum pins it) and compiles it once, about a minute of
# CPU; later runs reuse Go's caches and take about a second. Each step prints its time.
set -euo pipefail

WR_COMPONENT="grafana-check"
# shellcheck source-path=SCRIPTDIR source=../../local/_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/../../local/_common.sh"

HERE="${WR_REPO_ROOT}/deploy/grafana/check"
BIN="${WR_LOCAL_DIR}/grafana-check/grafana-check"
GO="$(command -v go || true)"
[[ -n "${GO}" ]] || { [[ -x /usr/local/go/bin/go ]] && GO=/usr/local/go/bin/go; }
[[ -n "${GO}" ]] || wr_die "Go is not installed (https://go.dev/doc/install, 1.22 or newer): it builds the schema checker"

shopt -s nullglob
dashboards=("${WR_REPO_ROOT}"/deploy/grafana/dashboards/*.json)
((${#dashboards[@]})) || wr_die "no dashboards under deploy/grafana/dashboards"

start="$(wr_now_ms)"
# go.sum pins the module's hash: the download is checked against it.
(cd "${HERE}" && "${GO}" mod download) || wr_die "could not fetch the Go modules of deploy/grafana/check (see above)"
wr_log "modules fetched in $(wr_elapsed "${start}") s"

start="$(wr_now_ms)"
mkdir -p "$(dirname -- "${BIN}")"
(cd "${HERE}" && "${GO}" build -mod=readonly -trimpath -o "${BIN}" .)
wr_log "checker built in $(wr_elapsed "${start}") s ($("${GO}" env GOVERSION))"

start="$(wr_now_ms)"
rc=0
(cd "${WR_REPO_ROOT}" && "${BIN}" "${dashboards[@]#"${WR_REPO_ROOT}/"}") || rc=$?
wr_log "${#dashboards[@]} dashboards checked in $(wr_elapsed "${start}") s"
exit "${rc}"
