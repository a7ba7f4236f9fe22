#!/bin/sh
# Before unpacking (deb: install|upgrade, rpm %pre: 1|2): the system user and group imom, so the
# package's root:imom files unpack with the right group. Never touches an existing user.
set -e
if ! getent group imom >/dev/null; then groupadd --system imom; fi
if ! getent passwd imom >/dev/null; then
  nologin=/usr/sbin/nologin; [ -x "$nologin" ] || nologin=/sbin/nologin
  useradd --system --gid imom --home-dir /var/lib/imom --no-create-home --shell "$nologin" --comment "iMom agent" imom
fi
exit 0
