#!/usr/bin/env bash
# Install Prosody and ejabberd from Debian's packages for bench/run-all.sh, without letting
# their system services start (they would hold 5222, Rookery's port). Run as root.
set -euo pipefail

if command -v prosody >/dev/null && command -v ejabberdctl >/dev/null; then
  echo "prosody and ejabberd already installed"
  exit 0
fi

# policy-rc.d answering 101 keeps invoke-rc.d from starting services during the install.
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y prosody ejabberd

# Where a service manager started them anyway, stop and disable them.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  for svc in prosody ejabberd; do
    systemctl stop "$svc" 2>/dev/null || true
    systemctl disable "$svc" 2>/dev/null || true
  done
fi
prosody --help 2>&1 | head -1 || true
dpkg-query -W -f '${Package} ${Version}\n' prosody ejabberd
