/**
 * `imom agent` with no target (the packaged /etc/imom/imom.yaml enables none) runs until SIGTERM
 * instead of exiting at once, which under systemd's Restart= would be a restart loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnImom, writeConfig } from '../harness/cli.js';
import { REPO_ROOT, removeDir, tempDir, waitFor } from '../harness/proc.js';

test('an agent with no target keeps running until SIGTERM, then exits 0', async () => {
  const dir = tempDir('idle-agent');
  try {
    const agent = spawnImom(['agent', '--config', writeConfig(dir, `state_dir: ${dir}/state\noutputs:\n  file: { path: ${dir}/check.log }\n`)]);
    const exited = once(agent, 'exit') as Promise<[number | null]>;
    let stderr = '';
    agent.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await waitFor(() => stderr.includes('agent started: 0 targets'), 60_000, 'the start-up line');
    // The SIGTERM is what ends it: the stop line comes only after it, and nothing stopped it before.
    assert.equal(agent.exitCode, null, stderr);
    assert.ok(!stderr.includes('agent stopped'), stderr);
    agent.kill('SIGTERM');
    const [code] = await exited;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /agent stopped: 0 lines written/);
  } finally {
    removeDir(dir);
  }
});

test('the start-up line names every config file read: the main file, then conf.d/*.yaml in name order', async () => {
  const dir = tempDir('idle-agent');
  try {
    const main = writeConfig(dir, `state_dir: ${dir}/state\noutputs:\n  file: { path: ${dir}/check.log }\n`);
    mkdirSync(join(dir, 'conf.d'));
    writeFileSync(join(dir, 'conf.d', 'b.yaml'), 'env: b\n');
    writeFileSync(join(dir, 'conf.d', 'a.yaml'), 'host: from-a\n');
    const agent = spawnImom(['agent', '--config', main]);
    const exited = once(agent, 'exit') as Promise<[number | null]>;
    let stderr = '';
    agent.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const line = await waitFor(() => stderr.split('\n').find((l) => l.includes('agent started')), 60_000, 'the start-up line');
    assert.equal(line, `imom: agent started: 0 targets, host from-a, env b, version ${JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version}, config ${main},${join(dir, 'conf.d', 'a.yaml')},${join(dir, 'conf.d', 'b.yaml')}, outputs file`);
    agent.kill('SIGTERM');
    assert.equal((await exited)[0], 0, stderr);
  } finally {
    removeDir(dir);
  }
});
