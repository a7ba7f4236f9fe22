import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fingerprintSql } from './fingerprint.js';

const fp = (s: string) => fingerprintSql(s);

test('QHash is 32 lowercase hex, the MD5 of the fingerprint', () => {
  const r = fp('SELECT * FROM t WHERE id = 1');
  assert.match(r.qhash, /^[0-9a-f]{32}$/);
  assert.equal(r.qhash, createHash('md5').update(r.fingerprint).digest('hex'));
});

test('same shape, different literals, whitespace, comments and keyword case: same QHash', () => {
  const groups: string[][] = [
    ["SELECT * FROM users WHERE id = 5 AND name = 'bob'", "select *\n  from users\n where id=17 -- pk\n   and name = 'it''s'", "Select * /* hint */ From users Where id = -3.5e2 And name = N'김'"],
    ['select a from t where x in (1, 2, 3)', 'select a from t where x in (4)', "select a from t where x IN ('a','b','c','d')"],
    ["insert into t (a, b) values (1, 'x')", "insert into t (a, b) values (1,'x'),(2,'y'),(3, null)", 'INSERT INTO t (a,b) VALUES (?, ?);'],
    ['update t set flag = true, n = 0x1F where id = 1', 'update t set flag = FALSE, n = 12 where id = ?'],
    ['select * from t where a = :name and b = $1 and c = ?', "select * from t where a = 'x' and b = 2 and c = 3"],
  ];
  for (const g of groups) {
    const hashes = new Set(g.map((s) => fp(s).qhash));
    assert.equal(hashes.size, 1, `expected one shape for ${JSON.stringify(g)}: ${g.map((s) => fp(s).fingerprint).join(' | ')}`);
  }
});

test('different shapes: different QHash', () => {
  const shapes = [
    'select a from t where id = 1',
    'select b from t where id = 1',
    'select a from T where id = 1', // identifiers keep their case
    'select a from t where id = 1 and x = 2',
    'select a from t where id > 1',
    'select a from t where id is null',
    'select a from t where id is not null',
    'delete from t where id = 1',
    'select a from t where x in (select y from u)',
  ];
  const hashes = new Set(shapes.map((s) => fp(s).qhash));
  assert.equal(hashes.size, shapes.length);
});

test('fingerprint text: keywords upper-cased, identifiers kept, literals replaced', () => {
  assert.equal(fp("select Name, count(*) from Users u where u.Id in (1,2) and u.note = 'x' limit 10").fingerprint, 'SELECT Name, COUNT(*) FROM Users u WHERE u.Id IN (?+) AND u.note = ? LIMIT ?');
  assert.equal(fp('update t set a = NULL where b is null').fingerprint, 'UPDATE t SET a = ? WHERE b IS NULL');
  assert.equal(fp('select `Order`, "Col" from [dbo].[T]').fingerprint, 'SELECT `Order`, "Col" FROM [dbo].[T]');
});

test('SQL the tokenizer does not understand falls back to whitespace normalisation, stable', () => {
  const a = fp("select 'unterminated from t where x = 1");
  const b = fp("select   'unterminated\n from t   where x = 1  ");
  assert.equal(a.fallback, true);
  assert.equal(a.fingerprint, "select 'unterminated from t where x = 1");
  assert.equal(a.qhash, b.qhash);
  assert.equal(fp('/* never closed select 1').fallback, true);
});
