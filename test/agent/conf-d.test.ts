import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RedisPair } from '../harness/redis.js';
import { removeDir, tempDir } from '../harness/proc.js';
import { imom, linesOf, stripStamp } from '../harness/cli.js';

let dir: string;
let n = 0;

/** A main file and conf.d files (name → YAML) in a fresh folder; returns the main file's path. */
function layout(main: string, confD: Record<string, string>, confDirName = 'conf.d'): string {
  const d = join(dir, `case-${++n}`);
  mkdirSync(join(d, confDirName), { recursive: true });
  writeFileSync(join(d, 'imom.yaml'), main);
  for (const [name, text] of Object.entries(confD)) writeFileSync(join(d, confDirName, name), text);
  return join(d, 'imom.yaml');
}

const mainFile = (extra = '') => `host: conf-d-test
interval: 60s
timeout: 5s
state_dir: ${dir}/state
outputs:
  file: { path: ${dir}/main.log }
${extra}`;

describe('conf.d: *.yaml merged over the main file', () => {
  before(() => {
    dir = tempDir('conf-d');
  });
  after(() => removeDir(dir));

  test('two conf.d files setting the same scalar: an error naming both files and lines', async () => {
    const main = layout(mainFile(), {
      '10-a.yaml': 'env: one\n',
      '20-b.yaml': '# b\n\nenv: two\n',
    });
    const r = await imom(['config', 'validate', main]);
    assert.equal(r.code, 2, r.stderr);
    const confD = join(main, '..', 'conf.d');
    assert.match(r.stderr, new RegExp(`${join(confD, '20-b.yaml')}:3: env: also set at ${join(confD, '10-a.yaml')}:1\\b`));
  });

  test('two conf.d files defining the same instance: an error naming both files and lines', async () => {
    const main = layout(mainFile(), {
      'a.yaml': 'checks:\n  redis:\n    - name: session\n      masters: [127.0.0.1:1]\n',
      'b.yaml': 'checks:\n  redis:\n    - name: cache\n      masters: [127.0.0.1:2]\n    - name: session\n      masters: [127.0.0.1:3]\n',
    });
    const r = await imom(['config', 'validate', main]);
    assert.equal(r.code, 2, r.stderr);
    const confD = join(main, '..', 'conf.d');
    assert.match(r.stderr, new RegExp(`${join(confD, 'b.yaml')}:5: checks\\.redis\\[1\\]\\.name: instance "session" is also defined at ${join(confD, 'a.yaml')}:3\\b`));
  });

  test('a conf.d scalar overrides the main file; a problem in a conf.d file names that file, its line and its own path', async () => {
    const ok = layout(mainFile('env: main\n'), { 'env.yaml': 'env: overridden\n' });
    const good = await imom(['config', 'validate', ok]);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /: ok \(with .*env\.yaml\)\n$/);

    const bad = layout(mainFile('checks:\n  redis:\n    - name: one\n      masters: [127.0.0.1:1]\n'), {
      'more.yaml': 'checks:\n  redis:\n    - name: two\n      masters: [not-a-host-port]\n',
    });
    const r = await imom(['config', 'validate', bad]);
    assert.equal(r.code, 2);
    // Index 0 of more.yaml's list, though it is the merged list's second instance.
    assert.match(r.stderr, new RegExp(`${join(bad, '..', 'conf.d', 'more.yaml')}:4: checks\\.redis\\[0\\]\\.masters\\[0\\]: expected host:port`));
  });

  test('--conf-d names another folder; files that are not *.yaml are ignored', async () => {
    const main = layout(mainFile(), { 'x.yaml': 'env: 1\n', 'y.yaml': 'env: 2\n', 'notes.txt': 'not yaml: [' }, 'elsewhere');
    assert.equal((await imom(['config', 'validate', main])).code, 0, 'no conf.d next to the file: the main file alone');
    const r = await imom(['config', 'validate', main, '--conf-d', join(main, '..', 'elsewhere')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /y\.yaml:1: env: also set at .*x\.yaml:1/);
  });

  describe('against real Redis', () => {
    let pair: RedisPair;
    before(async () => {
      pair = await RedisPair.start();
    });
    after(async () => pair?.stop());

    test('instance lists are concatenated: imom check runs the main file\'s instances and each conf.d file\'s', async () => {
      const main = layout(mainFile(`checks:\n  redis:\n    - name: from-main\n      masters: [${pair.master.address}]\n`), {
        '50-replica.yaml': `checks:\n  redis:\n    - name: from-conf-d\n      slaves: [${pair.replica.address}]\n`,
      });
      const r = await imom(['check', '--config', main, '--test']);
      assert.equal(r.code, 0, r.stderr);
      const lines = linesOf(r.stdout).map(stripStamp);
      assert.ok(lines.some((l) => l.endsWith(`Node=${pair.master.address}, Role=master`)), r.stdout);
      assert.ok(lines.some((l) => l.includes(`Node=${pair.replica.address}, Role=slave`)), r.stdout);
    });

    test('a conf.d scalar overrides the main file\'s: the LOG_FILE path of conf.d is the one written', async () => {
      const main = layout(mainFile(`checks:\n  redis:\n    - name: session\n      masters: [${pair.master.address}]\n`), {
        'log.yaml': `outputs:\n  file: { path: ${dir}/from-conf-d.log }\n`,
      });
      const r = await imom(['check', '--config', main, '--once']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(linesOf(readFileSync(`${dir}/from-conf-d.log`, 'utf8')).map(stripStamp), linesOf(r.stdout).map(stripStamp));
      assert.ok(!existsSync(`${dir}/main.log`), 'the main file\'s path is not opened');
    });
  });
});
