/**
 * The arrows of agent/src, checked over the built JavaScript in dist/ (TypeScript 7 ships no
 * compiler API for dependency-cruiser to parse .ts with): `npm run check:deps`, run by npm test.
 *
 *   cli ──▶ app (the composition root) ──▶ checks, outputs ──▶ common ──▶ config ──▶ core
 *   cli ──▶ stack, relay, rules, qhash (each its own command family) ──▶ loki-client ──▶ core
 *
 * core/ is the kernel: everything may import it and it imports nothing of ours.
 */
const SRC = '^(?:dist/)?agent/src/';
const folder = (...names) => `${SRC}(?:${names.join('|')})/`;

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'No module cycle, dynamic imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle',
      comment: 'No cycle between folders either (stack -> relay -> rules -> stack was one).',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-is-the-kernel',
      comment: 'core/ imports nothing of ours outside core/.',
      severity: 'error',
      from: { path: folder('core') },
      to: { path: SRC, pathNot: folder('core') },
    },
    {
      name: 'config-is-parsing-only',
      comment: 'config/ holds parsing and shared schema pieces: it may use core/, never a feature folder.',
      severity: 'error',
      from: { path: folder('config') },
      to: { path: SRC, pathNot: folder('config', 'core') },
    },
    {
      name: 'common-is-shared-by-checks',
      comment: 'common/ (code two checks share on purpose) depends only on the kernel and config pieces.',
      severity: 'error',
      from: { path: folder('common') },
      to: { path: SRC, pathNot: folder('common', 'config', 'core') },
    },
    {
      name: 'a-check-knows-no-output',
      comment: 'A check imports the kernel, config pieces, common/ and its own folder: never an output, the app, or another check.',
      severity: 'error',
      from: { path: `${SRC}checks/([^/]+)/` },
      to: { path: SRC, pathNot: [`${SRC}checks/$1/`, folder('core', 'config', 'common')] },
    },
    {
      name: 'an-output-knows-no-check',
      comment: 'Outputs take results and config; they never import a check, the app or a command.',
      severity: 'error',
      from: { path: folder('outputs') },
      to: { path: SRC, pathNot: folder('outputs', 'core', 'config') },
    },
    {
      name: 'metrics-only-counts',
      comment: 'metrics/ (the self-metrics registry and its HTTP server) uses core/ and config/ only; the scheduler and outputs report to it through their own observer interfaces, wired in app/.',
      severity: 'error',
      from: { path: folder('metrics') },
      to: { path: SRC, pathNot: folder('metrics', 'core', 'config') },
    },
    {
      name: 'loki-client-is-a-leaf',
      comment: 'The one Loki HTTP client: the relay, the rule tester, the stack and the harness use it; it uses only core/.',
      severity: 'error',
      from: { path: folder('loki-client') },
      to: { path: SRC, pathNot: folder('loki-client', 'core') },
    },
    {
      name: 'only-cli-wires-the-app',
      comment: 'app/ is the composition root: only the CLI imports it.',
      severity: 'error',
      from: { path: SRC, pathNot: folder('app', 'cli') },
      to: { path: folder('app') },
    },
    {
      name: 'nothing-imports-the-cli',
      severity: 'error',
      from: { path: SRC, pathNot: folder('cli') },
      to: { path: folder('cli') },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['\\.test\\.js$', '\\.map$'] },
    moduleSystems: ['es6'],
    // Dynamic import() of a check's implementation counts as an arrow like any other.
    tsPreCompilationDeps: false,
  },
};
