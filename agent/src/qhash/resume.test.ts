import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideResume, type DiskNow, type SavedCheckpoint } from './resume.js';

const INPUT = '/var/log/app/app.log';
const CONSOLE = '/var/log/app/console.log';
const QUERY = '/var/log/app/query.log';
const saved: SavedCheckpoint = {
  input: { path: INPUT, dev: 1, ino: 100, offset: 5000, head: Buffer.from('2024-03-01 10:00:00'), tail: Buffer.from('seq=42\n') },
  console: { path: CONSOLE, ino: 200, size: 4000 },
  query: { path: QUERY, ino: 300, size: 900 },
};

/** Disk as the checkpoint left it, with the outputs `grown` bytes longer; `input` overrides the input side. */
function disk(input: Partial<DiskNow['input']> = {}, grown = { console: 120, query: 0 }): DiskNow {
  return {
    input: { path: INPUT, live: { dev: 1, ino: 100, holdsMark: true }, ...input },
    console: { path: CONSOLE, now: { ino: 200, size: 4000 + grown.console } },
    query: { path: QUERY, now: { ino: 300, size: 900 + grown.query } },
  };
}

test('same file still holding what was read: resume in it at the offset, outputs skip what the replay repeats', () => {
  assert.deepEqual(decideResume(saved, disk()), {
    read: { path: INPUT, offset: 5000, rotated: false },
    resumed: true,
    consoleSkip: 120,
    querySkip: 0,
    clearSeen: false,
    resetMidLine: false,
  });
});

test('copytruncate while stopped: the copy first, from the offset', () => {
  const d = decideResume(saved, disk({ live: { dev: 1, ino: 100, holdsMark: false }, copy: `${INPUT}.1` }));
  assert.deepEqual(d.read, { path: `${INPUT}.1`, offset: 5000, rotated: true });
  assert.equal(d.resumed, true);
  assert.equal(d.lostFrom, undefined);
  assert.equal(d.consoleSkip, 120);
});

test('copytruncate without a readable copy: the loss is reported from the offset, the live file read from 0', () => {
  const d = decideResume(saved, disk({ live: { dev: 1, ino: 100, holdsMark: false } }));
  assert.deepEqual(d.read, { path: INPUT, offset: 0, rotated: false });
  assert.equal(d.resumed, false);
  assert.equal(d.lostFrom, 5000);
  assert.equal(d.resetMidLine, true);
  assert.equal(d.consoleSkip, 0, 'nothing is replayed, so nothing is skipped');
});

test('rename-and-create while stopped: the old file, found by inode, first', () => {
  const d = decideResume(saved, disk({ live: { dev: 1, ino: 101, holdsMark: false }, renamed: `${INPUT}.1` }));
  assert.deepEqual(d.read, { path: `${INPUT}.1`, offset: 5000, rotated: true });
  assert.equal(d.resumed, true);
  // The same inode on another device is another file.
  const other = decideResume(saved, disk({ live: { dev: 2, ino: 100, holdsMark: true } }));
  assert.equal(other.resumed, false);
});

test('the old file gone (or the input gone): the live file from 0, without the saved mid-line state', () => {
  for (const input of [{ live: { dev: 1, ino: 101, holdsMark: false } }, { live: undefined }]) {
    const d = decideResume(saved, disk(input));
    assert.deepEqual(d.read, { path: INPUT, offset: 0, rotated: false });
    assert.equal(d.resumed, false);
    assert.equal(d.resetMidLine, true);
    assert.equal(d.lostFrom, undefined);
  }
});

test('no checkpoint, or one for another input: the live file from 0, the saved splitter state as it is', () => {
  for (const s of [undefined, { ...saved, input: undefined }, { ...saved, input: { ...saved.input!, path: '/other.log' } }]) {
    const d = decideResume(s, disk());
    assert.deepEqual(d.read, { path: INPUT, offset: 0, rotated: false });
    assert.equal(d.resumed, false);
    assert.equal(d.resetMidLine, false);
    assert.equal(d.consoleSkip, 0);
  }
});

test('the query log is another file than the checkpoint saw (rotated, shorter, other path, gone): every shape is written again', () => {
  const q = (now: DiskNow['query']) => decideResume(saved, { ...disk(), query: now }).clearSeen;
  assert.equal(q({ path: QUERY, now: { ino: 300, size: 900 } }), false);
  assert.equal(q({ path: QUERY, now: { ino: 301, size: 900 } }), true);
  assert.equal(q({ path: QUERY, now: { ino: 300, size: 10 } }), true);
  assert.equal(q({ path: '/elsewhere/query.log', now: { ino: 300, size: 900 } }), true);
  assert.equal(q({ path: QUERY }), true);
  assert.equal(decideResume({ ...saved, query: undefined }, disk()).clearSeen, false, 'no saved query log: nothing to compare');
  // A rotated console log is not skipped into.
  assert.equal(decideResume(saved, { ...disk(), console: { path: CONSOLE, now: { ino: 201, size: 9000 } } }).consoleSkip, 0);
});
