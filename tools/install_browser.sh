#!/usr/bin/env bash
# Make the real-browser tests (tests/browser) runnable: Debian's Chromium + PyPI playwright.
#
#   tools/install_browser.sh          # or: make browser-deps
#
# Idempotent. Installs the `chromium` apt package when /usr/bin/chromium is missing and
# we are root with apt-get; otherwise prints how to enable the browser tests and exits 0
# (the tests then skip with the same hint, except under CI=true where they fail).
# Never runs `playwright install`: it downloads a browser build we do not use.
# Environment: CHROMIUM_PATH (a Chromium elsewhere), PYTHON (default: .venv/bin/python).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
HINT="Browser tests (tests/browser) stay skipped until Chromium and playwright are installed:
  sudo apt-get install chromium        # Debian/Ubuntu; or set CHROMIUM_PATH=/path/to/chromium
  .venv/bin/pip install -r requirements-test.txt   # provides the 'playwright' package
then: .venv/bin/pytest tests/browser   (never 'playwright install')"

status=0
if [ -x "$CHROMIUM" ]; then
    echo "chromium: $CHROMIUM present"
elif [ -z "${CHROMIUM_PATH:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "chromium: installing the Debian package (apt-get update + install chromium) ..."
    export DEBIAN_FRONTEND=noninteractive
    log="$(mktemp)"
    if { apt-get update -qq && apt-get install -y -qq chromium; } >"$log" 2>&1; then
        echo "chromium: $("$CHROMIUM" --version 2>/dev/null || echo installed)"
    else
        tail -n 20 "$log" >&2
        echo "chromium: apt-get install failed (output above)" >&2
        status=1
    fi
    rm -f "$log"
else
    echo "chromium: not found at $CHROMIUM, and cannot install it here (needs root and apt-get)."
    echo "$HINT"
    exit 0
fi

if [ -x "$PYTHON" ] && ! "$PYTHON" -c "import playwright.sync_api" >/dev/null 2>&1; then
    echo "playwright: not installed in $PYTHON; run: $PYTHON -m pip install -r requirements-test.txt"
elif [ -x "$PYTHON" ]; then
    echo "playwright: $("$PYTHON" -c 'from importlib.metadata import version; print(version("playwright"))')"
fi
exit "$status"
