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

# on_path NAME BIN: where NAME is on PATH, leaving out the clone's own BIN (which links to our
# builds); empty when it is nowhere else. A binary the machine already has wins over a build.
on_path() { PATH="$(echo "$PATH" | tr ':' '\n' | grep -vx "$2" | paste -sd:)" command -v "$1" || true; }

# file_pin FILE...: a short hash of files whose content pins a result (a pom, a manifest).
file_pin() { cat "$@" | sha256sum | cut -c1-12; }

# go_module_dir MODULE@VERSION: the module's folder in Go's module cache (downloaded if missing).
go_module_dir() { (cd /tmp && go mod download -json "$1") | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'; }

# go_module_src MODULE VERSION DEST: a writable copy of the module's source in DEST (a shared_dir),
# made through DEST.partial so an interrupted copy is never taken for a whole one. Kept if there.
go_module_src() {
  local module=$1 version=$2 dest=$3 dir
  [ -f "$dest/go.mod" ] && return 0
  echo "setup: downloading $module@$version" >&2
  dir="$(go_module_dir "$module@$version")"
  rm -rf "$dest.partial"; mkdir -p "$dest.partial"; cp -r "$dir/." "$dest.partial/"; chmod -R u+w "$dest.partial"
  rm -rf "$dest"; mv "$dest.partial" "$dest"
}

# go_build_linked NAME PIN SRC PKG VERSION_VAR SHARED LINK: builds PKG of the module source SRC into
# SHARED/NAME (through NAME.tmp, so an interrupted build is never taken for a whole one), with
# VERSION_VAR (the -X variable the binary prints as its version) set to PIN without its v, then
# links LINK to it and records PIN in LINK.version.
go_build_linked() {
  local name=$1 pin=$2 src=$3 pkg=$4 version_var=$5 shared=$6 link=$7 start
  mkdir -p "$shared"
  echo "setup: building $name $pin (first run on this machine only; kept in $shared)" >&2
  start=$SECONDS
  # nice: the build takes minutes of both cores, which test runs on this machine share.
  (cd "$src" && nice -n 10 go build -trimpath -ldflags "-s -w -X $version_var=${pin#v}" -o "$shared/$name.tmp" "$pkg")
  mv "$shared/$name.tmp" "$shared/$name"
  link_into "$link" "$shared/$name"; echo "$pin" > "$link.version"
  echo "setup: built $name in $((SECONDS-start))s" >&2
}

