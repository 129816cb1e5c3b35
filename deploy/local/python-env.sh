#!/usr/bin/env bash
# deploy/local/python-env.sh — the Python environment, from uv.lock and nothing else.
#
#   python-env.sh uv       print the path of the pinned uv, bootstrapping it first if needed
#   python-env.sh sync     make .venv equal to uv.lock (refuses when pyproject.toml and the lock disagree)
#   python-env.sh check    exit 1 unless .venv holds exactly what uv.lock lists
#   python-env.sh lock [uv lock args]   re-resolve uv.lock (the one way versions change)
#
# Needs only python3 (3.11-3.13) with pip: uv itself is installed with pip --require-hashes from
# deploy/local/uv-requirements.txt into .local/uv/<version>, outside .venv. uv never downloads a
# Python of its own here (UV_PYTHON_DOWNLOADS=never): .venv uses $PYTHON (default python3).
set -euo pipefail

WR_COMPONENT="python-env"
# shellcheck source-path=SCRIPTDIR source=_common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/_common.sh"

PYTHON="${PYTHON:-python3}"
REQS="${WR_SCRIPT_DIR}/uv-requirements.txt"
UV_VERSION="$(sed -n 's/^uv==\([0-9.]*\).*/\1/p' "${REQS}")"
UV_HOME="${WR_LOCAL_DIR}/uv/${UV_VERSION}"
UV="${UV_HOME}/bin/uv"
export UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT="${WR_REPO_ROOT}/.venv"

bootstrap_uv() {
  [[ -x "${UV}" ]] && "${UV}" --version >/dev/null 2>&1 && return 0
  command -v "${PYTHON}" >/dev/null 2>&1 || wr_die "${PYTHON} not found: install Python 3.11-3.13 (Debian: apt-get install python3 python3-pip), or set PYTHON=/path/to/python3"
  if ! "${PYTHON}" -m pip --version >/dev/null 2>&1; then
    wr_die "${PYTHON} has no pip, which bootstraps uv: install it (Debian: apt-get install python3-pip) and run make install again"
  fi
  wr_log "bootstrapping uv ${UV_VERSION} into ${UV_HOME} (pip, hashes checked)"
  rm -rf "${UV_HOME}"
  mkdir -p "${UV_HOME}"
  # --target installs outside any Python environment, so PEP 668's guard does not concern it.
  PIP_BREAK_SYSTEM_PACKAGES=1 "${PYTHON}" -m pip install --quiet --disable-pip-version-check \
    --no-deps --require-hashes --only-binary :all: --target "${UV_HOME}" -r "${REQS}" \
    || wr_die "could not install uv ${UV_VERSION} with pip (see above); check the network to PyPI and run make install again"
  [[ -x "${UV}" ]] || wr_die "pip installed uv but ${UV} is missing"
}

lock_agrees() {
  (cd "${WR_REPO_ROOT}" && "${UV}" lock --check --quiet 2>/dev/null)
}

case "${1:-}" in
  uv)
    bootstrap_uv
    printf '%s\n' "${UV}"
    ;;
  sync)
    bootstrap_uv
    if ! lock_agrees; then
      wr_err "pyproject.toml and uv.lock disagree (a dependency or its range changed without a new lock)."
      wr_die "run 'make lock' to re-resolve uv.lock, then 'make test', and commit both files"
    fi
    # --locked: install exactly the lock (and fail rather than re-resolve); exact by default, so
    # anything installed by hand that the lock does not list is removed again.
    (cd "${WR_REPO_ROOT}" && "${UV}" sync --locked --python "${PYTHON}")
    ;;
  check)
    bootstrap_uv
    lock_agrees || wr_die "pyproject.toml and uv.lock disagree: run 'make lock'"
    (cd "${WR_REPO_ROOT}" && "${UV}" sync --locked --check --python "${PYTHON}") \
      || wr_die ".venv differs from uv.lock (listed above): run 'make install'"
    wr_log ".venv equals uv.lock ($(grep -c '^name = ' "${WR_REPO_ROOT}/uv.lock") packages locked)"
    ;;
  lock)
    bootstrap_uv
    shift
    (cd "${WR_REPO_ROOT}" && "${UV}" lock "$@")
    wr_log "uv.lock written. Now run 'make install' and the whole test suite ('make test') before committing it."
    ;;
  *)
    wr_die "usage: $0 uv|sync|check|lock [uv lock arguments]"
    ;;
esac
