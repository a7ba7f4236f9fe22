#!/usr/bin/env bash
# Compiles the launcher of the test Solr nodes (test/solr/SolrNode.java) against the jars
# that maven.sh resolved into .cache/jars/solr/. Skipped when the class is newer than
# its source and the jars.
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=test/solr/SolrNode.java
JARS=.cache/jars/solr
OUT=.cache/solr-launcher
[ -d "$JARS" ] || { echo "setup: $JARS is missing; run scripts/setup/maven.sh first" >&2; exit 2; }
if [ -f "$OUT/SolrNode.class" ] && [ "$OUT/SolrNode.class" -nt "$SRC" ] && [ "$OUT/SolrNode.class" -nt "$JARS" ]; then
  exit 0
fi
command -v javac >/dev/null || { echo "setup: javac not found; install a JDK (17+)" >&2; exit 2; }
echo "setup: compiling $SRC" >&2
rm -rf "$OUT.partial"; mkdir -p "$OUT.partial"
javac -nowarn -d "$OUT.partial" -cp "$JARS/*" "$SRC"
rm -rf "$OUT"; mv "$OUT.partial" "$OUT"
