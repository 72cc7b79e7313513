#!/usr/bin/env bash
# The course book in headless Debian Chromium (Playwright): serves build/book (make book)
# on 127.0.0.1 with Python's http.server and runs book/book.spec.ts against both editions.
# Installs Debian's chromium (apt) and the pinned npm packages (npm ci) when missing; no
# browser is ever downloaded. Screenshots land in tests/browser/results/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export BOOK_DIR="${BOOK_DIR:-$ROOT/build/book}"
for edition in student instructor; do
  if [ ! -f "$BOOK_DIR/$edition/html/index.html" ]; then
    echo "book test: $BOOK_DIR/$edition/html/index.html is missing: run make book first" >&2
    exit 1
  fi
done

. "$HERE/lib.sh"
cd "$HERE"
mkdir -p results
export SOLUTION_LINES="$HERE/results/solution-lines.json"
(cd "$ROOT" && "$PY" -c 'import json, sys; from fido_lib.course.book import forbidden_lines; json.dump(forbidden_lines("."), sys.stdout, ensure_ascii=False)') >"$SOLUTION_LINES"

PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export BOOK_URL="http://127.0.0.1:$PORT"
"$PY" -m http.server "$PORT" --bind 127.0.0.1 --directory "$BOOK_DIR" >"$HERE/results/book-server.log" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true' EXIT
wait_for_url "$BOOK_URL/student/html/index.html" 30 "the book server did not answer on $BOOK_URL within 30 s"
echo "book test: both editions at $BOOK_URL"
npx playwright test --config book/playwright.config.js "$@"
