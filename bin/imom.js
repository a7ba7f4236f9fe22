#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=20
// A small young generation and an old generation that grows by 20% (not up to 4x) past what
// survives each full GC keep the agent's resident memory low. It is I/O bound: the extra GCs
// cost nothing measurable (bench/push: ~95 MB peak instead of ~115 MB at 1M lines, same CPU).
// bench/checks.ts and bench/push.ts run their node children with these flags.
import('../dist/agent/src/cli/main.js').then((m) => m.main(process.argv)).catch(async (e) => {
  process.stderr.write(`imom: ${e instanceof Error ? e.message : String(e)}\n`);
  // Exit only once stderr has reached a piped reader.
  const { exitWhenDrained } = await import('../dist/agent/src/command/command.js');
  await exitWhenDrained(2);
});
