#!/usr/bin/env bash
# node on the project's runtime: .cache/node (Node 24 LTS, fetched by scripts/setup/node.sh when
# the machine's node is older than 22.22), else the machine's node. npm test, demo and bench run
# through it; its bin/ goes first on PATH so that children started as `node` run on it too.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -x "$ROOT/.cache/node/bin/node" ]; then
  PATH="$ROOT/.cache/node/bin:$PATH" exec "$ROOT/.cache/node/bin/node" "$@"
fi
. "$ROOT/scripts/setup/node-version.sh"
have="$(node -p process.versions.node)"
if ! version_at_least "$have" "$NODE_MIN"; then
  echo "scripts/node.sh: node $have is older than $NODE_MIN and .cache/node is missing: run npm run setup" >&2
  exit 2
fi
exec node "$@"
