#!/usr/bin/env bash
# Builds Telegraf (MIT) from its pinned Go module for `npm run bench -- footprint` only: not part of
# all.sh, so npm test, the demo and CI never build it. Only the plugins the comparison needs are
# compiled in (Telegraf's own custom-build tags), as its release does it: CGO off, -s -w.
# v1.37.2 is the newest v1.37 patch the Go module proxy serves. The module has no nested modules
# and no local replace directives, so its zip builds as it is (unlike Loki's, see loki.sh).
# Kept in the shared cache (cache.sh) and linked into .cache/bin.
set -euo pipefail
TELEGRAF_VERSION="${TELEGRAF_VERSION:-v1.37.2}"
TAGS="custom,inputs.mysql,inputs.redis,outputs.file"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/scripts/setup/cache.sh"
BIN="$ROOT/.cache/bin"
SHARED="$(shared_dir telegraf "$TELEGRAF_VERSION")"
if [ -x "$SHARED/telegraf" ]; then link_into "$BIN/telegraf" "$SHARED/telegraf"; exit 0; fi
command -v go >/dev/null || { echo "setup: go toolchain not found; install Go to build telegraf" >&2; exit 2; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

SRC="$(shared_dir telegraf-src "$TELEGRAF_VERSION")"
go_module_src github.com/influxdata/telegraf "$TELEGRAF_VERSION" "$SRC"
cd "$SRC"
echo "setup: building telegraf $TELEGRAF_VERSION with $TAGS (first run on this machine only; kept in $SHARED)" >&2
start=$SECONDS
mkdir -p "$SHARED"
go build -trimpath -tags "$TAGS" -ldflags "-s -w -X github.com/influxdata/telegraf/internal.Version=${TELEGRAF_VERSION#v}" \
  -o "$SHARED/telegraf.tmp" ./cmd/telegraf
mv "$SHARED/telegraf.tmp" "$SHARED/telegraf"
link_into "$BIN/telegraf" "$SHARED/telegraf"
echo "setup: built telegraf in $((SECONDS-start))s" >&2
