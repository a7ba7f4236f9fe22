#!/usr/bin/env bash
# Builds otelcol-imom, our small OpenTelemetry Collector distribution (otelcol/builder-config.yaml),
# with the collector builder (go.opentelemetry.io/collector/cmd/builder, pinned below) and the
# machine's Go. The builder is built from its Go module; it generates main.go and go.mod from the
# manifest and compiles them. Kept in the shared cache (cache.sh) under a pin made of the builder
# version and the manifest's hash, and linked into .cache/bin. An otelcol-imom already on PATH wins.
set -euo pipefail
BUILDER_VERSION="${OTELCOL_BUILDER_VERSION:-v0.165.0}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/scripts/setup/cache.sh"
BIN="$ROOT/.cache/bin"
MANIFEST="$ROOT/otelcol/builder-config.yaml"
mkdir -p "$BIN"
onpath="$(on_path otelcol-imom "$BIN")"
if [ -n "$onpath" ]; then ln -sf "$onpath" "$BIN/otelcol-imom"; exit 0; fi
PIN="$BUILDER_VERSION-$(file_pin "$MANIFEST")"
SHARED="$(shared_dir otelcol "$PIN")"
if [ -x "$SHARED/otelcol-imom" ]; then link_into "$BIN/otelcol-imom" "$SHARED/otelcol-imom"; exit 0; fi
command -v go >/dev/null || { echo "setup: go toolchain not found; install Go or put otelcol-imom on PATH" >&2; exit 2; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

start=$SECONDS
BUILDER="$(shared_dir otelcol-builder "$BUILDER_VERSION")/builder"
if [ ! -x "$BUILDER" ]; then
  src="$(shared_dir otelcol-builder-src "$BUILDER_VERSION")"
  go_module_src go.opentelemetry.io/collector/cmd/builder "$BUILDER_VERSION" "$src"
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$BUILDER.tmp" .)
  mv "$BUILDER.tmp" "$BUILDER"
fi
echo "setup: building otelcol-imom $PIN (first run on this machine only; kept in $SHARED)" >&2
work="$SHARED.partial"
rm -rf "$work"; mkdir -p "$work"
cp "$MANIFEST" "$work/builder-config.yaml"
# nice: the build takes minutes of both cores, which test runs on this machine share.
(cd "$work" && nice -n 10 "$BUILDER" --config=builder-config.yaml)
mkdir -p "$SHARED"
mv "$work/build/otelcol-imom" "$SHARED/otelcol-imom"
rm -rf "$work"
link_into "$BIN/otelcol-imom" "$SHARED/otelcol-imom"
echo "setup: built otelcol-imom in $((SECONDS-start))s" >&2
