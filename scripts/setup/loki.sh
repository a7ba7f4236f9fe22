#!/usr/bin/env bash
# Builds loki and promtail from the pinned Loki Go module with the machine's Go.
# v3.5.x is the last release line whose module still carries Promtail
# (clients/cmd/promtail was removed in 3.6), so one pin serves both binaries.
# The binaries are kept in the shared cache (cache.sh) and linked into .cache/bin.
set -euo pipefail
LOKI_VERSION="${LOKI_VERSION:-v3.5.7}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/scripts/setup/cache.sh"
BIN="$ROOT/.cache/bin"
SHARED="$(shared_dir loki "$LOKI_VERSION")"
mkdir -p "$BIN"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

have() { # a binary on PATH (not our cache) wins, as operators may ship their own
  local name=$1 onpath
  onpath="$(PATH="$(echo "$PATH" | tr ':' '\n' | grep -vx "$BIN" | paste -sd:)" command -v "$name" || true)"
  if [ -n "$onpath" ]; then ln -sf "$onpath" "$BIN/$name"; return 0; fi
  # A build this clone made before the shared cache existed is adopted, not rebuilt.
  if [ ! -L "$BIN/$name" ] && [ -x "$BIN/$name" ] && [ "$(cat "$BIN/$name.version" 2>/dev/null)" = "$LOKI_VERSION" ] && [ ! -x "$SHARED/$name" ]; then
    mkdir -p "$SHARED"; mv "$BIN/$name" "$SHARED/$name"
  fi
  if [ -x "$SHARED/$name" ]; then
    link_into "$BIN/$name" "$SHARED/$name"; echo "$LOKI_VERSION" > "$BIN/$name.version"; return 0
  fi
  return 1
}

need=()
have loki || need+=(loki)
have promtail || need+=(promtail)
[ ${#need[@]} -eq 0 ] && exit 0

command -v go >/dev/null || { echo "setup: go toolchain not found; install Go or put loki/promtail on PATH" >&2; exit 2; }
SRC="$(shared_dir loki-src "$LOKI_VERSION")"
if [ ! -f "$SRC/go.mod" ]; then
  echo "setup: downloading github.com/grafana/loki/v3@$LOKI_VERSION" >&2
  dir="$(cd /tmp && go mod download -json "github.com/grafana/loki/v3@$LOKI_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  rm -rf "$SRC.partial"; mkdir -p "$SRC.partial"; cp -r "$dir/." "$SRC.partial/"; chmod -R u+w "$SRC.partial"
  rm -rf "$SRC"; mv "$SRC.partial" "$SRC"
fi
cd "$SRC"
# pkg/push is a nested module, so the v3 module zip leaves it out; go.mod points
# at ./pkg/push, so fetch the version go.mod requires and put it there.
if [ ! -f pkg/push/go.mod ]; then
  pushver="$(sed -n 's#^[[:space:]]*github.com/grafana/loki/pkg/push \(v[^ ]*\).*#\1#p' go.mod | head -1)"
  pdir="$(cd /tmp && go mod download -json "github.com/grafana/loki/pkg/push@$pushver" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  mkdir -p pkg/push; cp -r "$pdir/." pkg/push/; chmod -R u+w pkg/push
fi
mkdir -p "$SHARED"
for b in "${need[@]}"; do
  case $b in
    loki) pkg=./cmd/loki ;;
    promtail) pkg=./clients/cmd/promtail ;;
  esac
  echo "setup: building $b $LOKI_VERSION (first run on this machine only; kept in $SHARED)" >&2
  start=$SECONDS
  go build -trimpath -ldflags "-s -w -X github.com/grafana/loki/v3/pkg/util/build.Version=${LOKI_VERSION#v}" -o "$SHARED/$b.tmp" "$pkg"
  mv "$SHARED/$b.tmp" "$SHARED/$b"
  link_into "$BIN/$b" "$SHARED/$b"; echo "$LOKI_VERSION" > "$BIN/$b.version"
  echo "setup: built $b in $((SECONDS-start))s" >&2
done
