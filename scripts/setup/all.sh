#!/usr/bin/env bash
# Everything the tests and the demo need, from a clean clone on a fresh machine.
# Each step skips itself when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! [ -d node_modules ] || ! [ node_modules/.package-lock.json -nt package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
for step in apt node loki versitygw otelcol alertmanager nfpm maven solr; do
  if [ -f "scripts/setup/$step.sh" ]; then bash "scripts/setup/$step.sh"; fi
done
