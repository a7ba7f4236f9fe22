#!/bin/sh
# After removing files (deb: remove|purge|upgrade|..., rpm %postun: 0 erase, 1 upgrade).
# remove (and rpm erase) keeps config, spool, state and logs; only deb purge deletes them,
# with the units' enable links and the imom user.
set -e
case "$1" in
  purge)
    rm -f /etc/systemd/system/*.wants/imom-agent.service /etc/systemd/system/*.wants/imom-relay.service \
      /etc/systemd/system/*.wants/imom-split@*.service
    rm -rf /var/lib/imom /var/log/imom /etc/imom
    if getent passwd imom >/dev/null; then userdel imom >/dev/null 2>&1 || true; fi
    if getent group imom >/dev/null; then groupdel imom >/dev/null 2>&1 || true; fi
    ;;
esac
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
exit 0
