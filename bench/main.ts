/**
 * `npm run bench -- <name> [<name>...]`: each benchmark prints its figures side by side
 * with today's alternative, measured in the same run, and the ratio.
 */
const BENCHES: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  checks: () => import('./checks.js'),
  'kafka-lag': () => import('./kafka-lag.js'),
  qhash: () => import('./qhash.js'),
  push: () => import('./push.js'),
  'alert-latency': () => import('./alert-latency.js'),
  footprint: () => import('./footprint.js'),
  ha: () => import('./ha.js'),
};

const names = process.argv.slice(2);
if (names.length === 0 || names.some((n) => !(n in BENCHES))) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> ...\n`);
  process.exit(2);
}
for (const name of names) {
  process.stdout.write(`\n== bench ${name} ==\n`);
  const mod = await BENCHES[name]!();
  await mod.run();
}
process.exit(0);
