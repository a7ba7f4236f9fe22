#!/usr/bin/env bash
# Builds loki and promtail from their pinned Loki Go modules with the machine's Go.
# Two pins: Loki itself is v3.7.x; Promtail left the Loki module in 3.7, and v3.6.x is the
# last release line whose module still carries clients/cmd/promtail, so Promtail is built
# from that line. Each binary is kept in its own shared folder (cache.sh), named by its
# pin, and linked into .cache/bin.
set -euo pipefail
LOKI_VERSION="${LOKI_VERSION:-v3.7.8}"
PROMTAIL_VERSION="${PROMTAIL_VERSION:-v3.6.15}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/scripts/setup/cache.sh"
BIN="$ROOT/.cache/bin"
mkdir -p "$BIN"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

pin_of() { case $1 in loki) echo "$LOKI_VERSION" ;; promtail) echo "$PROMTAIL_VERSION" ;; esac; }

have() { # a binary on PATH (not our cache) wins, as operators may ship their own
  local name=$1 pin shared onpath
  pin="$(pin_of "$name")"; shared="$(shared_dir "$name" "$pin")"
  onpath="$(on_path "$name" "$BIN")"
  if [ -n "$onpath" ]; then ln -sf "$onpath" "$BIN/$name"; return 0; fi
  # A build this clone made before the shared cache existed is adopted, not rebuilt.
  if [ ! -L "$BIN/$name" ] && [ -x "$BIN/$name" ] && [ "$(cat "$BIN/$name.version" 2>/dev/null)" = "$pin" ] && [ ! -x "$shared/$name" ]; then
    mkdir -p "$shared"; mv "$BIN/$name" "$shared/$name"
  fi
  if [ -x "$shared/$name" ]; then
    link_into "$BIN/$name" "$shared/$name"; echo "$pin" > "$BIN/$name.version"; return 0
  fi
  return 1
}

# source_of PIN: the Loki module's source at PIN in the shared cache, ready to build.
source_of() {
  local pin=$1 src dir pushver pdir
  src="$(shared_dir loki-src "$pin")"
  go_module_src github.com/grafana/loki/v3 "$pin" "$src"
  # pkg/push is a nested module, so the v3 module zip leaves it out; go.mod replaces it
  # with ./pkg/push (3.6 and 3.7 alike, the only local replace), so fetch the version
  # go.mod requires and put it there.
  if [ ! -f "$src/pkg/push/go.mod" ]; then
    pushver="$(sed -n 's#^[[:space:]]*github.com/grafana/loki/pkg/push \(v[^ ]*\).*#\1#p' "$src/go.mod" | head -1)"
    pdir="$(go_module_dir "github.com/grafana/loki/pkg/push@$pushver")"
    mkdir -p "$src/pkg/push"; cp -r "$pdir/." "$src/pkg/push/"; chmod -R u+w "$src/pkg/push"
  fi
  printf '%s' "$src"
}

build() {
  local name=$1 pin pkg src shared
  pin="$(pin_of "$name")"; shared="$(shared_dir "$name" "$pin")"
  case $name in
    loki) pkg=./cmd/loki ;;
    promtail) pkg=./clients/cmd/promtail ;;
  esac
  src="$(source_of "$pin")"
  go_build_linked "$name" "$pin" "$src" "$pkg" github.com/grafana/loki/v3/pkg/util/build.Version "$shared" "$BIN/$name"
}

need=()
have loki || need+=(loki)
have promtail || need+=(promtail)
[ ${#need[@]} -eq 0 ] && exit 0

command -v go >/dev/null || { echo "setup: go toolchain not found; install Go or put loki/promtail on PATH" >&2; exit 2; }
for b in "${need[@]}"; do build "$b"; done
