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

. "$HERE/lib.sh"
cd "$HERE"

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

wait_for_url "$TARGET_URL/api/status" 90 "JupyterLab did not answer on $TARGET_URL within 90 s; see $SERVER_LOG"

echo "browser test: $(basename "$NOTEBOOK") in JupyterLab at $TARGET_URL"
npx playwright test "$@"
