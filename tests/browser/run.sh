#!/usr/bin/env bash
# Real-browser test: JupyterLab on 127.0.0.1, headless Debian Chromium driven by
# Galata/Playwright, running the widget notebook (NOTEBOOK, default: notebook 04).
# Installs Debian's chromium when missing (apt) and the pinned npm packages (npm ci);
# no browser is ever downloaded. Screenshots land in tests/browser/results/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
NOTEBOOK="${NOTEBOOK:-$(ls "$ROOT"/notebooks/04_*.ipynb 2>/dev/null | head -n 1)}"
if [ -z "$NOTEBOOK" ] || [ ! -f "$NOTEBOOK" ]; then
  echo "browser test: no notebook to test (NOTEBOOK='$NOTEBOOK')" >&2
  exit 1
fi
export NOTEBOOK="$(cd "$(dirname "$NOTEBOOK")" && pwd)/$(basename "$NOTEBOOK")"

if [ ! -x "$CHROMIUM" ]; then
  echo "browser test: installing Debian's chromium"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

cd "$HERE"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "browser test: npm ci"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi

mkdir -p results
SERVE_ROOT="$(mktemp -d)"
export FIDO_BROWSER_ROOT="$SERVE_ROOT" JUPYTERLAB_GALATA_ROOT_DIR="$SERVE_ROOT"
export FIDO_BROWSER_PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export TARGET_URL="http://127.0.0.1:$FIDO_BROWSER_PORT"
SERVER_LOG="$HERE/results/jupyter-server.log"

"$PY" -m jupyter lab --config "$HERE/jupyter_server_test_config.py" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!
stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$SERVE_ROOT"
}
trap stop_server EXIT

"$PY" - <<PYEOF
import time, urllib.request
deadline = time.time() + 90
while True:
    try:
        urllib.request.urlopen("$TARGET_URL/api/status", timeout=2)
        break
    except OSError:
        if time.time() > deadline:
            raise SystemExit("JupyterLab did not answer on $TARGET_URL within 90 s; see $SERVER_LOG")
        time.sleep(0.5)
PYEOF

echo "browser test: $(basename "$NOTEBOOK") in JupyterLab at $TARGET_URL"
npx playwright test "$@"
