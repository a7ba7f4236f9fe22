#!/usr/bin/env bash
# Resolves the jars of the real servers the tests run, one Maven profile of test/pom.xml each,
# into the shared cache (cache.sh), keyed by the pom's content (the pins are in it), and links
# .cache/jars/<profile> to it. A profile already resolved for this pom is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/setup/cache.sh
pin="$(file_pin test/pom.xml)"
for profile in kafka-3.9 kafka-4 solr; do
  dir=".cache/jars/$profile"
  shared="$(shared_dir "jars-$profile" "$pin")"
  if [ ! -d "$shared" ]; then
    echo "maven: resolving $profile into $shared"
    # Into a scratch folder first, so an interrupted download never leaves a half-filled cache.
    rm -rf "$shared.partial"
    mvn -q -B -f test/pom.xml -P "$profile" -Djars.dir="$shared.partial" package
    mv "$shared.partial" "$shared"
  fi
  [ "$(readlink "$dir" 2>/dev/null)" = "$shared" ] || link_into "$dir" "$shared"
done
