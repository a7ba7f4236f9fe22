/**
 * The runtime the tests run on (scripts/node.sh: Node 24 LTS from scripts/setup/node.sh when the
 * machine's node is older than NODE_MIN in scripts/setup/node-version.sh) and the native addons built for it; and what `imom` says
 * about itself: --version and the agent's start-up line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { z } from 'zod';
import { compressSync, uncompressSync } from 'snappy';
import { Rsyslog } from '../harness/rsyslog.js';
import { freePort, removeDir, REPO_ROOT, tempDir, waitFor } from '../harness/proc.js';
import { imom, spawnImom, writeConfig } from '../harness/cli.js';

// One minimum, read from the setup script that enforces it, so engines and setup cannot drift apart.
const NODE_MIN_TEXT = /^NODE_MIN=(\d+\.\d+\.\d+)$/m
  .exec(readFileSync(join(REPO_ROOT, 'scripts/setup/node-version.sh'), 'utf8'))?.[1];
if (NODE_MIN_TEXT === undefined) throw new Error('scripts/setup/node-version.sh: no NODE_MIN=x.y.z line');
const NODE_MIN = NODE_MIN_TEXT.split('.').map(Number) as [number, number, number];
const packageJson = z.object({ version: z.string(), engines: z.object({ node: z.string() }) })
  .parse(JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')));

describe('the runtime', () => {
  test(`the tests run on Node >= ${NODE_MIN_TEXT}, the minimum package.json's engines names`, () => {
    const [major = 0, minor = 0, patch = 0] = process.versions.node.split('.').map(Number);
    const [minMajor, minMinor, minPatch] = NODE_MIN;
    const atLeast = major !== minMajor ? major > minMajor : minor !== minMinor ? minor > minMinor : patch >= minPatch;
    assert.ok(atLeast, `running on ${process.version}`);
    assert.equal(packageJson.engines.node, `>=${NODE_MIN_TEXT}`);
  });

  test('unix-dgram (node-gyp addon, built for this runtime) loads and makes a socket', () => {
    const require = createRequire(import.meta.url);
    const dgram = require('unix-dgram') as { createSocket(type: 'unix_dgram'): { close(): void } };
    dgram.createSocket('unix_dgram').close();
  });

  test('snappy (N-API, prebuilt) loads and round-trips', () => {
    const text = 'imom '.repeat(100);
    assert.equal(uncompressSync(compressSync(text), { asBuffer: false }), text);
  });
});

describe('imom names its version', () => {
  let dir: string;
  let syslog: Rsyslog;
  before(async () => {
    dir = tempDir('runtime');
    syslog = await Rsyslog.start();
  });
  after(async () => {
    await syslog?.stop();
    removeDir(dir);
  });

  test('imom --version prints package.json\'s version', async () => {
    const r = await imom(['--version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${packageJson.version}\n`);
  });

  test('the agent\'s start-up line names its version, config file and outputs; its syslog output works on this runtime', async () => {
    // A Redis node on a port nothing listens on: the agent keeps running and writes an ERROR line,
    // which the syslog output sends over the rsyslogd unix socket (unix-dgram).
    const closed = `127.0.0.1:${await freePort()}`;
    const cfg = writeConfig(dir, `
env: test
host: runtime-test
interval: 60s
timeout: 5s
state_dir: ${dir}/state
outputs:
  file: { path: ${dir}/check.log }
  syslog: { enabled: true, address: "${syslog.socket}" }
checks:
  redis:
    - name: session
      masters: [${closed}]
`);
    const agent = spawnImom(['agent', '--config', cfg]);
    let stderr = '';
    agent.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
    const line = await waitFor(() => stderr.split('\n').find((l) => l.includes('agent started')), 30_000, 'the start-up line');
    assert.equal(line, `imom: agent started: 1 targets, host runtime-test, env test, version ${packageJson.version}, config ${cfg}, outputs file,syslog`);
    await waitFor(() => syslog.lines().some((l) => l.includes(`redis_check: `) && l.includes(closed)), 30_000, 'the ERROR line in rsyslogd');
    agent.kill('SIGTERM');
    const [code] = (await once(agent, 'exit')) as [number];
    assert.equal(code, 0);
  });
});
