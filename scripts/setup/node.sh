#!/usr/bin/env bash
# The runtime npm test, demo and bench run on (scripts/node.sh): the machine's node when it is
# NODE_MIN or later, else the pinned Node 24 LTS from the npm registry (node-version.sh), kept
# in the shared cache (cache.sh) and linked into .cache/node. unix-dgram, a node-gyp addon that
# npm ci built for the machine's node, is then built again against the runtime's headers
# (snappy is N-API and prebuilt: one binary loads on every node).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/scripts/setup/cache.sh"
. "$ROOT/scripts/setup/node-version.sh"
LINK="$ROOT/.cache/node"

machine="$(command -v node)" || { echo "setup: node not found; install Node >= $NODE_MIN" >&2; exit 2; }
machine_version="$(node -p process.versions.node)"

fetch_node() { # DIR: the pinned release unpacked into DIR (bin/node, include/node, share)
  local dir=$1 tmp tgz got start=$SECONDS
  if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
    echo "setup: node $machine_version is older than $NODE_MIN and only linux x64 is fetched; install Node >= $NODE_MIN" >&2; exit 2
  fi
  echo "setup: node $machine_version is older than $NODE_MIN; fetching $NODE_PACKAGE@$NODE_PIN from the npm registry (first run on this machine only; kept in $dir)" >&2
  tmp="$(mktemp -d)"
  # A throw-away npm cache: the unpacked copy in the shared cache is the one kept (the tarball is 50 MB).
  (cd "$tmp" && npm pack --silent --cache "$tmp/npm-cache" "$NODE_PACKAGE@$NODE_PIN" >/dev/null)
  tgz="$tmp/$NODE_PACKAGE-$NODE_PIN.tgz"
  got="sha512-$(node -e "process.stdout.write(require('crypto').createHash('sha512').update(require('fs').readFileSync(process.argv[1])).digest('base64'))" "$tgz")"
  if [ "$got" != "$NODE_INTEGRITY" ]; then
    echo "setup: $NODE_PACKAGE@$NODE_PIN has integrity $got, expected $NODE_INTEGRITY" >&2; rm -rf "$tmp"; exit 2
  fi
  rm -rf "$dir.partial"; mkdir -p "$dir.partial"
  tar xzf "$tgz" -C "$dir.partial" --strip-components=1
  rm -rf "$tmp"
  [ "$("$dir.partial/bin/node" -p process.versions.node)" = "$NODE_PIN" ] || { echo "setup: $dir.partial/bin/node is not node $NODE_PIN" >&2; exit 2; }
  rm -rf "$dir"; mv "$dir.partial" "$dir"
  echo "setup: fetched node $NODE_PIN in $((SECONDS-start))s" >&2
}

if version_at_least "$machine_version" "$NODE_MIN"; then
  if [ -L "$LINK" ]; then rm "$LINK"; fi
  runtime="$machine"
else
  SHARED="$(shared_dir node "$NODE_PIN")"
  [ -x "$SHARED/bin/node" ] || fetch_node "$SHARED"
  link_into "$LINK" "$SHARED"
  runtime="$LINK/bin/node"
fi

ADDON="$ROOT/node_modules/unix-dgram"
RELEASE="$ADDON/build/Release/unix_dgram.node"
addon_loads() { (cd "$ROOT" && "$1" -e "require('unix-dgram')") >/dev/null 2>&1; }
# keep_as VERSION: the build just made moves to where unix-dgram's loader (bindings) looks for
# that node version. build/Release holds one node's build and is searched first (a build for
# another node there throws), so with two nodes each build lives under its version and both
# load it: the runtime, and the machine's node (npm scripts left on it, `node --test` by hand).
keep_as() {
  mkdir -p "$ADDON/compiled/$1/linux/x64"
  mv "$RELEASE" "$ADDON/compiled/$1/linux/x64/unix_dgram.node"
}

if [ "$runtime" = "$machine" ]; then
  addon_loads "$runtime" || npm rebuild unix-dgram >&2
else
  # Only npm ci (the machine's npm) leaves a build in build/Release.
  if [ -f "$RELEASE" ]; then keep_as "$machine_version"; fi
  if ! addon_loads "$machine"; then
    echo "setup: building unix-dgram for node $machine_version" >&2
    npm rebuild unix-dgram >&2; keep_as "$machine_version"
  fi
  if ! addon_loads "$runtime"; then
    echo "setup: building unix-dgram for node $NODE_PIN (headers from $LINK)" >&2
    PATH="$LINK/bin:$PATH" npm rebuild unix-dgram --nodedir="$LINK" >&2; keep_as "$NODE_PIN"
  fi
fi
addon_loads "$runtime" || { echo "setup: unix-dgram does not load under $runtime" >&2; exit 2; }
