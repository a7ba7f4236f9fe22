#!/bin/sh
# After unpacking (deb: configure [OLD_VERSION], rpm %post: 1 install, 2 upgrade).
# Creates the directories, fixes modes, and on upgrade restarts only units that are running;
# it never enables or starts a unit the operator did not.
set -e
install -d -o imom -g imom -m 0750 /var/lib/imom /var/log/imom
install -d -o root -g imom -m 0750 /etc/imom /etc/imom/conf.d /etc/imom/split
# /etc/imom is root:imom, files 0640: the agent reads its config and secrets, only root edits them.
find /etc/imom -type f -exec chown root:imom {} + -exec chmod 0640 {} +
upgrade=no
case "$1" in
  configure) [ -n "$2" ] && upgrade=yes ;;
  2) upgrade=yes ;;
esac
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
  if [ "$upgrade" = yes ]; then
    # try-restart: a unit that is not running stays stopped.
    systemctl try-restart imom-agent.service imom-relay.service 'imom-split@*.service' >/dev/null 2>&1 || true
  fi
fi
exit 0
