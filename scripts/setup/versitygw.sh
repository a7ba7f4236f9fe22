#!/usr/bin/env bash
# Builds versitygw, the S3-compatible store the HA Loki cluster (loki/loki-ha.yaml) writes its
# chunks, index and rules to: an S3 gateway over a plain folder (its `posix` backend), built from
# its pinned Go module with the machine's Go (Apache-2.0; why this one, loki/README.md). Kept in
# the shared cache (cache.sh) under its pin and linked into .cache/bin. A versitygw on PATH wins.
set -euo pipefail
VERSITYGW_VERSION="${VERSITYGW_VERSION:-v1.8.0}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/scripts/setup/cache.sh"
BIN="$ROOT/.cache/bin"
mkdir -p "$BIN"
onpath="$(on_path versitygw "$BIN")"
if [ -n "$onpath" ]; then ln -sf "$onpath" "$BIN/versitygw"; exit 0; fi
SHARED="$(shared_dir versitygw "$VERSITYGW_VERSION")"
if [ -x "$SHARED/versitygw" ]; then
  link_into "$BIN/versitygw" "$SHARED/versitygw"; echo "$VERSITYGW_VERSION" > "$BIN/versitygw.version"; exit 0
fi
command -v go >/dev/null || { echo "setup: go toolchain not found; install Go or put versitygw on PATH" >&2; exit 2; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

src="$(shared_dir versitygw-src "$VERSITYGW_VERSION")"
go_module_src github.com/versity/versitygw "$VERSITYGW_VERSION" "$src"
go_build_linked versitygw "$VERSITYGW_VERSION" "$src" ./cmd/versitygw main.Version "$SHARED" "$BIN/versitygw"
