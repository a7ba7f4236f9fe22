/**
 * `imom check` piped into a slow reader delivers every line before it exits (issue 17 item 6):
 * it used to exit before stdout drained (608 of 2,500 lines arrived).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawnImom, writeConfig } from '../harness/cli.js';
import { freePort, removeDir, sleep, tempDir } from '../harness/proc.js';

const NODES = 2_500;

test(`imom check into a reader that stalls: all ${NODES} lines arrive, then it exits`, async () => {
  const dir = tempDir('drain');
  try {
    const port = await freePort(); // closed: every node is refused at once
    const nodes = Array.from({ length: NODES }, (_, i) => `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}:${port}`);
    const cfg = writeConfig(dir, `host: h\nstate_dir: ${dir}/state\ntimeout: 20s\nchecks:\n  redis:\n    - name: many\n      masters: [${nodes[0]}]\n      slaves: [${nodes.slice(1).join(', ')}]\n`);
    const child = spawnImom(['check', '--config', cfg]);
    const exited = once(child, 'exit') as Promise<[number]>;
    const ended = once(child.stdout!, 'end');
    // The reader stalls until the check has had time to write everything into a full pipe.
    child.stdout!.pause();
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    await sleep(3_000);
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stdout!.resume();
    const [[code]] = await Promise.all([exited, ended]);
    assert.equal(code, 1, stderr);
    const lines = out.split('\n').filter(Boolean);
    assert.equal(lines.length, NODES, stderr);
    assert.equal(new Set(lines.map((l) => /Node (\S+) /.exec(l)?.[1])).size, NODES);
  } finally {
    removeDir(dir);
  }
});
