#!/usr/bin/env bash
# Installs the Debian packages the tests and the demo run for real (nginx: the HA Loki entry point, run
# as a plain process with its own prefix, loki/nginx-ha.conf; openssl: the Kafka harness
# unpacks client keys to PEM; rpm and logrotate: test/package inspects the .rpm and rotates the logs).
# Services are never auto-started: the harness starts its own on loopback.
set -euo pipefail
PKGS=(mariadb-server mariadb-client redis-server redis-tools zookeeper prometheus-alertmanager rsyslog openssl rpm logrotate nginx)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
# policy-rc.d 101 keeps dpkg from starting system-wide daemons on install.
printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
$SUDO chmod +x /usr/sbin/policy-rc.d
trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
echo "setup: apt-get install ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
