/**
 * The Tailer against real files: what read() returns through growth, rename-and-create and
 * copytruncate (with and without a copy next to the file), and a file that appears late.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, tempDir } from '../../../test/harness/proc.js';
import { Tailer, type TailRead } from './tailer.js';

const fresh = (log: string) => new Tailer(log, { path: log, offset: 0, rotated: false, resumed: false, tail: Buffer.alloc(0) });
/** read() once, with a chunk's bytes as text (a chunk is only valid until the next read). */
const next = (t: Tailer): TailRead | { kind: 'chunk'; text: string } => {
  const r = t.read();
  return r.kind === 'chunk' ? { kind: 'chunk', text: r.chunk.toString() } : r;
};
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i} of a log long enough to mark its position\n`).join('');

test('tailer: chunks then eof; a file that appears late is opened; a rename is read to its end, then the new file', () => {
  const dir = tempDir('qhash-tailer');
  const log = join(dir, 'app.log');
  try {
    const t = fresh(log);
    assert.deepEqual(next(t), { kind: 'missing' });
    writeFileSync(log, lines(0, 3));
    assert.deepEqual(next(t), { kind: 'opened' });
    assert.deepEqual(next(t), { kind: 'chunk', text: lines(0, 3) });
    assert.deepEqual(next(t), { kind: 'eof' });
    appendFileSync(log, lines(3, 4));
    assert.deepEqual(next(t), { kind: 'chunk', text: lines(3, 4) });
    assert.deepEqual(next(t), { kind: 'eof' });

    // Lines written just before the rename are read from the old file, then the new one from 0.
    appendFileSync(log, lines(4, 6));
    renameSync(log, `${log}.1`);
    writeFileSync(log, lines(100, 101));
    assert.deepEqual(next(t), { kind: 'chunk', text: lines(4, 6) });
    assert.deepEqual(next(t), { kind: 'renamed' });
    assert.deepEqual(next(t), { kind: 'chunk', text: lines(100, 101) });
    assert.equal(t.position(Buffer.byteLength(lines(100, 101)))?.offset, Buffer.byteLength(lines(100, 101)));
    t.close();
  } finally {
    removeDir(dir);
  }
});

test('tailer: copytruncate reads the unread rest from the copy; without a copy it says truncated at which offset', () => {
  const dir = tempDir('qhash-tailer-ct');
  const log = join(dir, 'app.log');
  try {
    writeFileSync(log, lines(0, 3));
    const t = fresh(log);
    assert.deepEqual(next(t), { kind: 'chunk', text: lines(0, 3) });
    const offset = Buffer.byteLength(lines(0, 3));

    appendFileSync(log, lines(3, 5));
    copyFileSync(log, `${log}.1`);
    truncateSync(log, 0);
    appendFileSync(log, lines(200, 201));
    assert.deepEqual(next(t), { kind: 'truncated', offset, copy: `${log}.1` });
    assert.deepEqual(next(t), { kind: 'chunk', text: lines(3, 5) });
    assert.deepEqual(next(t), { kind: 'renamed' });
    assert.deepEqual(next(t), { kind: 'chunk', text: lines(200, 201) });

    // No copy: what was appended before the truncation is gone, and the live file is read from 0.
    appendFileSync(log, lines(201, 202));
    truncateSync(log, 0);
    appendFileSync(log, lines(300, 302));
    assert.deepEqual(next(t), { kind: 'truncated', offset: Buffer.byteLength(lines(200, 201)), copy: undefined });
    assert.deepEqual(next(t), { kind: 'chunk', text: lines(300, 302) });
    t.close();
  } finally {
    removeDir(dir);
  }
});
