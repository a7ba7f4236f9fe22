#!/usr/bin/env bash
# Sourced by the setup steps: where builds and downloads are kept across clones.
#
# A fresh clone (CI's, every run) must not rebuild Loki or re-resolve Kafka on a machine that has
# done it once: each result lives under ${XDG_CACHE_HOME:-$HOME/.cache}/imom/<name>-<pin>/, and the
# clone's git-ignored .cache/ links to it. The pin is in the folder's name, so changing a pin
# builds anew and never picks up an old build. A fresh machine still builds everything.
IMOM_SHARED_CACHE="${IMOM_SHARED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/imom}"

# shared_dir NAME PIN: the shared folder for NAME at PIN (not created).
shared_dir() { printf '%s/%s-%s' "$IMOM_SHARED_CACHE" "$1" "$2"; }

# link_into LINK TARGET: LINK (in the clone) points at TARGET (shared), replacing what was there.
link_into() {
  mkdir -p "$(dirname "$1")"
  if [ -L "$1" ] || [ -e "$1" ]; then rm -rf "$1"; fi
  ln -s "$2" "$1"
}

# file_pin FILE...: a short hash of files whose content pins a result (a pom, a manifest).
file_pin() { cat "$@" | sha256sum | cut -c1-12; }
