/**
 * --follow against real rotation: rename-and-create, copytruncate, and kill -9 / restart of the
 * splitter process, in the middle of writing. The console output must be exactly what a single
 * pass over all records produces: no line lost, none repeated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, existsSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, removeDir, sleep, startDaemon, tempDir, waitFor, type Daemon } from '../../../test/harness/proc.js';
import { compileParser, DEFAULT_PARSER_CONFIG } from './parser.js';
import { Splitter } from './splitter.js';

const ENTRY = join(REPO_ROOT, 'agent/src/qhash/cli.ts');

function record(n: number): string {
  const ts = `2024-03-01 10:${String(Math.floor(n / 60) % 60).padStart(2, '0')}:${String(n % 60).padStart(2, '0')}.${String(n % 1000).padStart(3, '0')}`;
  if (n % 3 === 1) return `${ts} DEBUG 77 --- [exec-${n % 4}] c.e.m.OrderMapper : boundSql : select id, amt\n      from orders_${n % 5}\n     where id = ${n}\n`;
  return `${ts}  INFO 77 --- [exec-${n % 4}] c.e.OrderService : event seq=${n}\n`;
}
const records = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => record(from + i)).join('');

test('--follow survives rename-and-create, copytruncate and kill -9 without losing or repeating a line', { timeout: 120_000 }, async () => {
  const dir = tempDir('qhash-follow');
  const log = join(dir, 'app.log');
  const con = join(dir, 'console.log');
  const qry = join(dir, 'query.log');
  const state = join(dir, 'state');
  let d: Daemon | undefined;
  let starts = 0;
  const start = () => {
    starts++;
    return startDaemon('qhash', process.execPath, ['--import', 'tsx', ENTRY, 'qhash', 'split', log, '--console', con, '--query', qry, '--follow', '--state', state], { cwd: REPO_ROOT, logFile: join(dir, `splitter-${starts}.out`) });
  };
  const seen = (n: number) => waitFor(() => existsSync(con) && readFileSync(con, 'utf8').includes(`event seq=${n}\n`), 30_000, `seq=${n} in the console output`);
  try {
    writeFileSync(log, records(0, 300));
    d = start();
    await seen(299);

    // Writes while running; kill -9 in the middle of them.
    for (let i = 300; i < 600; i += 30) {
      appendFileSync(log, records(i, i + 30));
      await sleep(40);
      if (i === 420) await d.kill();
    }
    d = start();
    await seen(599);

    // logrotate's default: rename, then the application creates a new file.
    renameSync(log, `${log}.1`);
    writeFileSync(log, records(600, 700));
    await seen(699);

    // copytruncate: copy, then empty the live file in place, and keep writing.
    copyFileSync(log, `${log}.2`);
    truncateSync(log, 0);
    appendFileSync(log, records(700, 800));
    await seen(798); // 799 is a SQL record

    // Rotation while the splitter is down: it must finish the old file (found by inode) first.
    await d.kill();
    appendFileSync(log, records(800, 850));
    renameSync(log, `${log}.3`);
    writeFileSync(log, records(850, 900));
    d = start();
    await seen(899);
    await d.stop();

    const sp = new Splitter({ parser: compileParser(DEFAULT_PARSER_CONFIG), example: false, maxShapes: 1000 });
    sp.push(Buffer.from(records(0, 900)));
    sp.end();
    const want = sp.take();
    const got = readFileSync(con, 'utf8');
    for (let n = 0; n < 900; n += 3) {
      const count = got.split(`event seq=${n}\n`).length - 1;
      assert.equal(count, 1, `seq=${n} appears ${count} times`);
    }
    assert.equal(got, Buffer.concat(want.console).toString(), 'console output differs from one pass over the same records');
    assert.equal(readFileSync(qry, 'utf8'), Buffer.concat(want.query).toString(), 'each shape once in the query log');
    assert.equal(readFileSync(qry, 'utf8').trim().split('\n').length, 5);
  } finally {
    await d?.stop();
    removeDir(dir);
  }
});
