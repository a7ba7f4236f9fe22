#!/usr/bin/env node
// `npm run package [-- --pkg-version V] [--out DIR] [--reuse-stage]`: imom_<V>_amd64.deb and
// imom-<V>.x86_64.rpm (nfpm, packaging/nfpm.yaml). Stages under .tmp/package/ (never dist/, which
// any `npm run build` empties): the agent compiled apart, production node_modules with native
// addons built against the bundled Node 24 (.cache/node, its headers), that runtime, licences.
// --reuse-stage packages the last stage again under another version (test/package's upgrade).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// IMOM_PACKAGE_WORK: another folder, so two builds (test/package's files) never share a stage.
const WORK = process.env.IMOM_PACKAGE_WORK || join(ROOT, '.tmp', 'package');
const STAGE = join(WORK, 'stage');
const LIB = join(STAGE, 'usr/lib/imom');
const DOC = join(STAGE, 'usr/share/doc/imom');
const NODE_DIR = join(ROOT, '.cache', 'node');
const NFPM = join(ROOT, '.cache', 'bin', 'nfpm');
/** Node's major the package runs on (the active LTS; scripts/setup/node-version.sh pins it). */
const NODE_MAJOR = 24;

function parseArgs(argv) {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const out = { version: pkg.version, outDir: join(WORK, 'out'), reuseStage: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--pkg-version') out.version = argv[++i];
    else if (a === '--out') out.outDir = argv[++i];
    else if (a === '--reuse-stage') out.reuseStage = true;
    else throw new Error(`package: unknown argument ${a} (known: --pkg-version V, --out DIR, --reuse-stage)`);
  }
  if (!/^\d+\.\d+\.\d+([.~+][0-9A-Za-z.]+)?$/.test(out.version ?? '')) throw new Error(`package: version ${out.version} is not N.N.N`);
  return out;
}

function sh(cmd, args, opts = {}) {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: ROOT, ...opts });
}

function log(msg) {
  process.stderr.write(`package: ${msg}\n`);
}

/** The bundled runtime and nfpm come from the setup steps; run them when their result is missing. */
function ensureTools() {
  if (!existsSync(join(NODE_DIR, 'bin', 'node'))) sh('bash', [join(ROOT, 'scripts/setup/node.sh')]);
  const version = execFileSync(join(NODE_DIR, 'bin', 'node'), ['--version'], { encoding: 'utf8' }).trim();
  if (!version.startsWith(`v${NODE_MAJOR}.`)) throw new Error(`package: .cache/node is ${version}, the package bundles Node ${NODE_MAJOR}`);
  if (!existsSync(join(NODE_DIR, 'include', 'node', 'node_api.h'))) throw new Error('package: .cache/node has no include/node headers to build native addons against');
  if (!existsSync(NFPM)) sh('bash', [join(ROOT, 'scripts/setup/nfpm.sh')]);
  return version.slice(1);
}

function copyTree(from, to, keep = () => true) {
  cpSync(from, to, { recursive: true, filter: (src) => statSync(src).isDirectory() || keep(src) });
}

/** The launcher's V8 flags, read from bin/imom.js's shebang so /usr/bin/imom cannot drift from it. */
function launcherFlags() {
  const shebang = readFileSync(join(ROOT, 'bin', 'imom.js'), 'utf8').split('\n', 1)[0];
  const m = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)\s*$/.exec(shebang);
  if (!m) throw new Error(`package: bin/imom.js shebang not understood: ${shebang}`);
  return m[1].trim();
}

function stageAgent() {
  const build = join(WORK, 'build');
  rmSync(build, { recursive: true, force: true });
  log('compiling the agent');
  sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', build, '--sourceMap', 'false']);
  copyTree(join(build, 'agent/src'), join(LIB, 'dist/agent/src'), (f) => f.endsWith('.js') && !f.endsWith('.test.js'));
  rmSync(build, { recursive: true, force: true });
  mkdirSync(join(LIB, 'bin'), { recursive: true });
  copyFileSync(join(ROOT, 'bin/imom.js'), join(LIB, 'bin/imom.js'));
  // What `imom stack` reads from the package root.
  for (const p of ['loki/loki.yaml', 'promtail/promtail.yaml', 'otelcol/otelcol.yaml', 'ruler/rules', 'ruler/alertmanager.yml']) {
    if (existsSync(join(ROOT, p))) cpSync(join(ROOT, p), join(LIB, p), { recursive: true });
  }
}

function stageModules(nodeVersion) {
  copyFileSync(join(ROOT, 'package.json'), join(LIB, 'package.json'));
  copyFileSync(join(ROOT, 'package-lock.json'), join(LIB, 'package-lock.json'));
  log(`npm ci --omit=dev, native addons against Node ${nodeVersion}'s headers`);
  // npm itself runs on the machine's node; node-gyp takes the target ABI from --nodedir's headers,
  // and install scripts find the bundled node first on PATH.
  sh('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--foreground-scripts'], {
    cwd: LIB,
    env: { ...process.env, npm_config_nodedir: NODE_DIR, PATH: `${join(NODE_DIR, 'bin')}:${process.env.PATH}` },
  });
  const pkg = JSON.parse(readFileSync(join(LIB, 'package.json'), 'utf8'));
  delete pkg.devDependencies;
  delete pkg.scripts;
  writeFileSync(join(LIB, 'package.json'), JSON.stringify(pkg, null, 2) + '\n');
  rmSync(join(LIB, 'package-lock.json'));
  // Build intermediates of node-gyp are not needed at run time.
  for (const dir of findDirs(join(LIB, 'node_modules'), (p) => basename(p) === 'obj.target' || basename(p) === '.deps')) rmSync(dir, { recursive: true, force: true });
  // The addons must load in the bundled runtime, not only in the machine's.
  sh(join(NODE_DIR, 'bin/node'), ['-e', "require('unix-dgram'); require('snappy')"], { cwd: LIB });
}

function stageRuntime() {
  mkdirSync(join(LIB, 'node/bin'), { recursive: true });
  copyFileSync(join(NODE_DIR, 'bin/node'), join(LIB, 'node/bin/node'));
  chmodSync(join(LIB, 'node/bin/node'), 0o755);
  mkdirSync(join(STAGE, 'usr/bin'), { recursive: true });
  writeFileSync(join(STAGE, 'usr/bin/imom'), `#!/bin/sh
# iMom with its own Node runtime and the launcher's V8 flags (bin/imom.js).
exec /usr/lib/imom/node/bin/node ${launcherFlags()} /usr/lib/imom/bin/imom.js "$@"
`);
  chmodSync(join(STAGE, 'usr/bin/imom'), 0o755);
}

function* findDirs(dir, match) {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = join(dir, e.name);
    if (match(p)) yield p;
    else yield* findDirs(p, match);
  }
}

/** Every installed package under node_modules (scoped and nested included): its folder. */
function* packageDirs(nodeModules) {
  if (!existsSync(nodeModules)) return;
  for (const e of readdirSync(nodeModules, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const p = join(nodeModules, e.name);
    if (e.name.startsWith('@')) {
      for (const s of readdirSync(p, { withFileTypes: true })) if (s.isDirectory()) yield* withNested(join(p, s.name));
    } else yield* withNested(p);
  }
}

function* withNested(dir) {
  if (existsSync(join(dir, 'package.json'))) yield dir;
  yield* packageDirs(join(dir, 'node_modules'));
}

const LICENSE_FILE = /^(licen[cs]e|copying|notice)([.-].*)?$/i;

/** /usr/share/doc/imom/licenses/<name>@<version>/: each bundled module's licence files; INDEX lists them. */
function stageLicences(nodeVersion) {
  const out = join(DOC, 'licenses');
  const index = [];
  const add = (id, spdx, files) => {
    const dest = join(out, id.replace(/\//g, '+'));
    mkdirSync(dest, { recursive: true });
    for (const f of files) copyFileSync(f, join(dest, basename(f)));
    if (files.length === 0) writeFileSync(join(dest, 'LICENSE-FIELD'), `The package ships no licence file; its package.json declares: ${spdx}\n`);
    index.push(`${id}\t${spdx}`);
  };
  add(`node@${nodeVersion}`, 'MIT (Node.js and the licences of its bundled parts, in this file)', [join(NODE_DIR, 'LICENSE')]);
  const seen = new Set();
  for (const dir of packageDirs(join(LIB, 'node_modules'))) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (!pkg.name || !pkg.version) continue;
    const id = `${pkg.name}@${pkg.version}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const spdx = typeof pkg.license === 'string' ? pkg.license : Array.isArray(pkg.licenses) ? pkg.licenses.map((l) => l.type).join(' OR ') : (pkg.license?.type ?? 'UNKNOWN');
    add(id, spdx, readdirSync(dir).filter((f) => LICENSE_FILE.test(f)).map((f) => join(dir, f)).filter((f) => statSync(f).isFile()));
  }
  writeFileSync(join(out, 'INDEX'), index.sort().join('\n') + '\n');
  writeFileSync(join(DOC, 'copyright'), `iMom\nLicense: Apache-2.0 (https://www.apache.org/licenses/LICENSE-2.0; on Debian /usr/share/common-licenses/Apache-2.0)\n\nBundled: Node.js ${nodeVersion} and the npm modules in /usr/lib/imom/node_modules; each one's licence is in\n/usr/share/doc/imom/licenses/<name>@<version>/, listed with its SPDX id in licenses/INDEX.\n`);
}

function stageDocs() {
  mkdirSync(join(DOC, 'examples'), { recursive: true });
  copyFileSync(join(ROOT, 'README.md'), join(DOC, 'README.md'));
  copyFileSync(join(ROOT, 'packaging/etc/split-example.yaml'), join(DOC, 'examples/split.yaml'));
  copyFileSync(join(ROOT, 'packaging/etc/relay-example.yaml'), join(DOC, 'examples/relay.yaml'));
  copyFileSync(join(ROOT, 'agent/src/qhash/sample.yaml'), join(DOC, 'examples/qhash.yaml'));
  const checks = join(ROOT, 'agent/src/checks');
  for (const c of readdirSync(checks)) {
    const sample = join(checks, c, 'sample.yaml');
    if (existsSync(sample)) copyFileSync(sample, join(DOC, 'examples', `${c}.yaml`));
  }
}

function stage(nodeVersion) {
  rmSync(join(WORK, 'stage.done'), { force: true });
  rmSync(STAGE, { recursive: true, force: true });
  mkdirSync(LIB, { recursive: true });
  stageAgent();
  stageModules(nodeVersion);
  stageRuntime();
  stageLicences(nodeVersion);
  stageDocs();
  writeFileSync(join(WORK, 'stage.done'), `${nodeVersion}\n`);
}

function packageAll(version, outDir) {
  mkdirSync(outDir, { recursive: true });
  // `imom --version` reads it: the packaged version, also under --reuse-stage.
  const pkgFile = join(LIB, 'package.json');
  writeFileSync(pkgFile, JSON.stringify({ ...JSON.parse(readFileSync(pkgFile, 'utf8')), version }, null, 2) + '\n');
  // nfpm expands the environment in version: but not in a content's src:, so the stage is put in here.
  const config = join(WORK, 'nfpm.yaml');
  writeFileSync(config, readFileSync(join(ROOT, 'packaging/nfpm.yaml'), 'utf8').replaceAll('${IMOM_STAGE}', STAGE));
  const targets = { deb: `imom_${version}_amd64.deb`, rpm: `imom-${version}.x86_64.rpm` };
  for (const [packager, file] of Object.entries(targets)) {
    const target = join(outDir, file);
    rmSync(target, { force: true });
    sh(NFPM, ['package', '--config', config, '--packager', packager, '--target', target], { env: { ...process.env, IMOM_VERSION: version } });
    log(`${relative(process.cwd(), target) || target}`);
  }
}

const args = parseArgs(process.argv.slice(2));
const nodeVersion = ensureTools();
if (!(args.reuseStage && existsSync(join(WORK, 'stage.done')))) stage(nodeVersion);
packageAll(args.version, args.outDir);
