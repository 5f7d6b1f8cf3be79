#!/usr/bin/env bash
# Make sure Debian's chromium is installed for the browser tests (tests/test_browser.py).
# Playwright drives /usr/bin/chromium; never `playwright install`, which downloads a browser.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "installing Debian's chromium for the browser tests (about a minute)" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version >&2
