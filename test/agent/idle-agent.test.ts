/**
 * `imom agent` with no target (the packaged /etc/imom/imom.yaml enables none) runs until SIGTERM
 * instead of exiting at once, which under systemd's Restart= would be a restart loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawnImom, writeConfig } from '../harness/cli.js';
import { removeDir, tempDir, waitFor } from '../harness/proc.js';

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
