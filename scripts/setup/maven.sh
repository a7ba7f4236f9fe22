#!/usr/bin/env bash
# Resolves the jars of the real servers the tests run, one Maven profile of test/pom.xml each,
# into .cache/jars/<profile>/ (each profile sets jars.name to its id). A profile whose folder is
# already there is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
for profile in kafka-3.9 kafka-4 solr; do
  dir=".cache/jars/$profile"
  [ -d "$dir" ] && continue
  echo "maven: resolving $profile into $dir"
  # Into a scratch folder first, so an interrupted download never leaves a half-filled cache.
  rm -rf "$dir.partial" "$dir"
  mvn -q -B -f test/pom.xml -P "$profile" -Djars.dir="$PWD/$dir.partial" package
  mv "$dir.partial" "$dir"
done
