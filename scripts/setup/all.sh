#!/usr/bin/env bash
# Everything the tests and the demo need, from a clean clone on a fresh machine.
# Each step skips itself when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund
for step in apt loki maven; do
  [ -f "scripts/setup/$step.sh" ] && bash "scripts/setup/$step.sh"
done
