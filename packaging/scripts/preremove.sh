#!/bin/sh
# Before removing files (deb: remove|upgrade NEW|deconfigure, rpm %preun: 0 erase, 1 upgrade).
# On removal the units stop; on upgrade they keep running until postinstall's try-restart.
set -e
case "$1" in
  remove|0)
    if [ -d /run/systemd/system ]; then
      systemctl stop imom-agent.service imom-relay.service 'imom-split@*.service' >/dev/null 2>&1 || true
    fi
    ;;
esac
exit 0
