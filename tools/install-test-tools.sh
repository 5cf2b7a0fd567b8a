#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests unless it is already there.
# (Playwright's own browser download does not work on these machines; see README.)
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "error: the browser tests need Chromium at /usr/bin/chromium (Debian package 'chromium')" >&2
  exit 1
fi
