#!/usr/bin/env bash
# Idempotent set-up of a fresh machine for triage.
#   scripts/setup.sh          Python venv (.venv) with triage installed editable
#   scripts/setup.sh --test   also the test tools and the Debian packages the tests start for real
#                             (dovecot-imapd for IMAP, chromium and chromium-driver for the page and the web app)
# torch is installed FIRST and pinned to the CPU build on this machine's disk (torch==2.13.0);
# letting a dependency pull torch would download a CUDA build of several GB. Every other version comes
# from constraints.txt (one pinned set for tests, benchmarks and the model card).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WITH_TEST=0
[ "${1:-}" = "--test" ] && WITH_TEST=1
PY=${PYTHON:-python3}
VENV=${VENV:-.venv}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root to run: $*" >&2; return 1; fi; }

if [ "$WITH_TEST" = 1 ]; then
  need=()
  command -v dovecot >/dev/null || need+=(dovecot-imapd dovecot-core)
  command -v openssl >/dev/null || need+=(openssl)
  command -v chromium >/dev/null || need+=(chromium)
  command -v chromedriver >/dev/null || need+=(chromium-driver)
  if [ ${#need[@]} -gt 0 ]; then
    echo "==> apt-get install ${need[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

[ -x "$VENV/bin/python" ] || { echo "==> creating $VENV"; "$PY" -m venv "$VENV"; }
PIP="$VENV/bin/python -m pip --disable-pip-version-check"
extras=""; [ "$WITH_TEST" = 1 ] && extras="[test,dask]"
stamp="$VENV/.triage-installed$extras"
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  $VENV/bin/python -c "import torch" 2>/dev/null || { echo "==> torch==2.13.0 (CPU)"; $PIP install -q torch==2.13.0; }
  echo "==> pip install -e .$extras"
  $PIP install -q -c constraints.txt -e ".$extras"
  echo "$want" > "$stamp"
fi
