#!/usr/bin/env bash
# Builds Alertmanager from its pinned Go module, next to Debian's 0.25 (apt.sh), so the
# alerting tests can run on a current release too. Linked as .cache/bin/alertmanager-0.35,
# not as alertmanager: paths.ts looks for "alertmanager" in .cache/bin first, and every test
# keeps using Debian's 0.25 unless $IMOM_ALERTMANAGER_BIN points here.
# The module ships without the built web UI (ui/app/dist is made by npm in their release
# pipeline), so `go build` stops at "ui/web.go: pattern app/dist: no matching files"; a
# placeholder page there lets it build. iMom uses only the API.
set -euo pipefail
ALERTMANAGER_VERSION="${ALERTMANAGER_VERSION:-v0.35.0}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/scripts/setup/cache.sh"
BIN="$ROOT/.cache/bin"
LINK="$BIN/alertmanager-0.35"
mkdir -p "$BIN"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod

shared="$(shared_dir alertmanager "$ALERTMANAGER_VERSION")"
if [ -x "$shared/alertmanager" ]; then
  link_into "$LINK" "$shared/alertmanager"; echo "$ALERTMANAGER_VERSION" > "$LINK.version"; exit 0
fi
command -v go >/dev/null || { echo "setup: go toolchain not found; install Go to build alertmanager $ALERTMANAGER_VERSION" >&2; exit 2; }

src="$(shared_dir alertmanager-src "$ALERTMANAGER_VERSION")"
go_module_src github.com/prometheus/alertmanager "$ALERTMANAGER_VERSION" "$src"
if ! ls "$src/ui/app/dist/"* >/dev/null 2>&1; then
  mkdir -p "$src/ui/app/dist"
  printf '<!doctype html><title>Alertmanager</title><p>Built without the web UI; use the API (/api/v2).</p>\n' > "$src/ui/app/dist/index.html"
fi

go_build_linked alertmanager "$ALERTMANAGER_VERSION" "$src" ./cmd/alertmanager github.com/prometheus/common/version.Version "$shared" "$LINK"
