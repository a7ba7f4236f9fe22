#!/usr/bin/env node
import('../dist/agent/src/cli/main.js').then((m) => m.main(process.argv)).catch((e) => {
  process.stderr.write(`imom: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(2);
});
