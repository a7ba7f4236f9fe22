#!/usr/bin/env bash
# Builds nfpm (the packager Loki's own release uses) from its pinned Go module with the machine's
# Go; `npm run package` makes the .deb and the .rpm with it. Kept in the shared cache (cache.sh)
# and linked into .cache/bin, so a fresh clone on a machine that built it once does not rebuild.
set -euo pipefail
NFPM_VERSION="${NFPM_VERSION:-v2.48.0}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/scripts/setup/cache.sh"
BIN="$ROOT/.cache/bin"
SHARED="$(shared_dir nfpm "$NFPM_VERSION")"
if [ -x "$SHARED/nfpm" ]; then link_into "$BIN/nfpm" "$SHARED/nfpm"; exit 0; fi
command -v go >/dev/null || { echo "setup: go toolchain not found; install Go to build nfpm" >&2; exit 2; }
echo "setup: building nfpm $NFPM_VERSION (first run on this machine only; kept in $SHARED)" >&2
start=$SECONDS
mkdir -p "$SHARED"
# go install into a private GOBIN: the module's own go.mod and go.sum pin every dependency.
GOTOOLCHAIN=local GOFLAGS=-mod=mod GOBIN="$SHARED/.partial" \
  go install -trimpath -ldflags "-s -w -X main.version=${NFPM_VERSION#v}" "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION"
mv "$SHARED/.partial/nfpm" "$SHARED/nfpm"; rmdir "$SHARED/.partial"
link_into "$BIN/nfpm" "$SHARED/nfpm"
echo "setup: built nfpm in $((SECONDS-start))s" >&2
