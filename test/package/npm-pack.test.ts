// test-file-timeout: 1200
/**
 * `npm pack` (prepack builds dist/) gives a tarball that `npm install -g` installs into a scratch
 * prefix, and the installed `imom` runs: --version, and config validate on the package's own sample.
 * The install runs on the bundled Node 24 (.cache/node first on PATH; node-gyp takes its headers).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, run, tempDir, removeDir } from '../harness/proc.js';

const NODE_DIR = join(REPO_ROOT, '.cache', 'node');

describe('npm pack, npm install -g', () => {
  let work: string;
  let tarball: string;
  const env = () => ({ ...process.env, PATH: `${join(NODE_DIR, 'bin')}:${process.env.PATH}`, npm_config_nodedir: NODE_DIR });

  before(async () => {
    work = tempDir('npm-pack');
    // prepack runs `npm run build`: the tarball carries a fresh dist/.
    const packed = await run('npm', ['pack', '--pack-destination', work, '--json'], { cwd: REPO_ROOT, timeoutMs: 600_000 });
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = join(work, info[0]!.filename);
    const files = info[0]!.files.map((f) => f.path);
    assert.ok(files.includes('bin/imom.js') && files.includes('dist/agent/src/cli/main.js'), 'the launcher and the built agent');
    assert.ok(!files.some((f) => f.endsWith('.test.js') || f.startsWith('test/') || f.startsWith('agent/src/')), 'no tests, no sources');
  });

  after(() => removeDir(work));

  test('installs globally and runs', async () => {
    const prefix = join(work, 'prefix');
    await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { env: env(), timeoutMs: 900_000 });
    const bin = join(prefix, 'bin', 'imom');
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal((await run(bin, ['--version'], { env: env() })).stdout.trim(), pkg.version);
    const sample = join(REPO_ROOT, 'packaging', 'etc', 'imom.yaml');
    assert.equal((await run(bin, ['config', 'validate', sample], { env: env() })).code, 0);
    assert.ok(readdirSync(join(prefix, 'lib', 'node_modules', 'imom', 'node_modules', 'unix-dgram', 'build', 'Release')).some((f) => f.endsWith('.node')), 'the addon was built');
  });
});
