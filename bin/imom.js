#!/usr/bin/env -S node --max-semi-space-size=2
// A small young generation keeps the agent's resident memory low; it is I/O bound,
// so the extra scavenges cost nothing measurable (bench/checks.ts reads these flags).
import('../dist/agent/src/cli/main.js').then((m) => m.main(process.argv)).catch((e) => {
  process.stderr.write(`imom: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
