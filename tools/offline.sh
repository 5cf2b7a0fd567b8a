#!/usr/bin/env bash
# Run a command with no network access except loopback (notebook kernels talk over 127.0.0.1).
# Uses a fresh network namespace where the machine allows it; otherwise runs the command as is and
# says so, so the build still works for users without root.
set -euo pipefail
if unshare --net true 2>/dev/null && command -v ip >/dev/null; then
  echo "offline.sh: running without network access: $*"
  exec unshare --net bash -c 'ip link set lo up && exec "$@"' offline "$@"
fi
echo "offline.sh: cannot create a network namespace here (needs root and unshare); running with network"
exec "$@"
