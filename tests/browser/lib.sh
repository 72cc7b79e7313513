# Sourced by run.sh and book.sh (with HERE set to this folder and PY to a Python): installs
# Debian's chromium (apt) when $CHROMIUM is missing and the pinned npm packages (npm ci)
# when node_modules is missing or older than package-lock.json (no browser is ever
# downloaded), and defines wait_for_url.
if [ ! -x "$CHROMIUM" ]; then
  echo "browser test: installing Debian's chromium"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if [ ! -f "$HERE/node_modules/.package-lock.json" ] || [ "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]; then
  echo "browser test: npm ci"
  (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

# wait_for_url URL SECONDS MESSAGE: poll URL until it answers; exit with MESSAGE after SECONDS
wait_for_url() {
  "$PY" - "$1" "$2" "$3" <<'PYEOF'
import sys, time, urllib.request
url, limit, message = sys.argv[1], float(sys.argv[2]), sys.argv[3]
deadline = time.time() + limit
while True:
    try:
        urllib.request.urlopen(url, timeout=2)
        break
    except OSError:
        if time.time() > deadline:
            raise SystemExit(message)
        time.sleep(0.3)
PYEOF
}
