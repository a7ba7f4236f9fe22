/** The relay's pieces on their own: LogQL narrowing, Explore links, the durable store, config errors, the Alertmanager config. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderAlertmanagerConfig } from '../../agent/src/relay/amconfig.js';
import { exploreUrl, parseExploreUrl } from '../../agent/src/relay/explore.js';
import { formatFor } from '../../agent/src/relay/formatters/index.js';
import { narrowingLabels, narrowLogql } from '../../agent/src/relay/logql.js';
import type { Notification } from '../../agent/src/relay/notification.js';
import { dedupeKey, instantOf } from '../../agent/src/relay/intake.js';
import { Relay } from '../../agent/src/relay/relay.js';
import { bearerOk } from '../../agent/src/relay/server.js';
import { relayConfigSchema } from '../../agent/src/relay/config.js';
import { Store } from '../../agent/src/relay/store.js';
import { fit, oneLine } from '../../agent/src/relay/text.js';
import type { TargetConfig } from '../../agent/src/relay/config.js';
import { stringsOf, withinLimits, type TeamsMessage } from './chat-limits.js';
import { imom } from '../harness/cli.js';
import { freePort, REPO_ROOT, removeDir, run, tempDir } from '../harness/proc.js';

describe('narrowLogql', () => {
  it('adds the alert labels to every selector, once', () => {
    assert.equal(narrowLogql('{job="imom", level="ERROR"}', { host: 'db1', check: 'mysql' }), '{job="imom", level="ERROR", host="db1", check="mysql"}');
    assert.equal(narrowLogql('{job="imom", host=~"db.*"}', { host: 'db1' }), '{job="imom", host=~"db.*"}', 'an existing matcher on the label wins');
    assert.equal(narrowLogql('{job="imom"} |= "a{b}" |~ `x{2}`', { host: 'd"1' }), '{job="imom", host="d\\"1"} |= "a{b}" |~ `x{2}`');
    assert.equal(narrowLogql('sum(count_over_time({job="imom"}[1m])) / sum(count_over_time({job="x"}[1m]))', { env: 'prod' }), 'sum(count_over_time({job="imom", env="prod"}[1m])) / sum(count_over_time({job="x", env="prod"}[1m]))');
  });
  it('narrows by the logql_narrow annotation, else by the defaults, skipping labels the alert lacks', () => {
    const labels = { env: 'prod', host: 'db1', check: 'app', job: 'pay', severity: 'error' };
    assert.deepEqual(narrowingLabels(labels, 'env, host,job', ['env', 'host', 'check']), { env: 'prod', host: 'db1', job: 'pay' });
    assert.deepEqual(narrowingLabels({ host: 'db1' }, undefined, ['env', 'host', 'check']), { host: 'db1' });
  });
});

describe('Explore link', () => {
  it('uses the Grafana 10/11 panes format and round-trips', () => {
    const u = exploreUrl({ grafanaUrl: 'https://grafana.example/', datasourceUid: 'loki', orgId: 2, expr: '{job="imom", host="db1"}', fromMs: 1000, toMs: 2000 });
    assert.ok(u.startsWith('https://grafana.example/explore?schemaVersion=1&orgId=2&panes=%7B%22imom%22'));
    const panes = JSON.parse(new URL(u).searchParams.get('panes')!) as Record<string, { datasource: string; queries: { refId: string; expr: string; datasource: { type: string; uid: string } }[]; range: { from: string; to: string } }>;
    assert.deepEqual(panes.imom!.range, { from: '1000', to: '2000' });
    assert.deepEqual(panes.imom!.queries[0]!.datasource, { type: 'loki', uid: 'loki' });
    assert.deepEqual(parseExploreUrl(u), { expr: '{job="imom", host="db1"}', fromMs: 1000, toMs: 2000, datasourceUid: 'loki', orgId: 2 });
  });
});

describe('bearer token and dedupe key', () => {
  it('accepts only the exact token', () => {
    assert.ok(bearerOk('Bearer abcdefghijklmnop', 'abcdefghijklmnop'));
    assert.ok(!bearerOk('Bearer abcdefghijklmno', 'abcdefghijklmnop'));
    assert.ok(!bearerOk(undefined, 'abcdefghijklmnop'));
    assert.ok(!bearerOk('Basic abcdefghijklmnop', 'abcdefghijklmnop'));
  });
  it('differs by target, status and startsAt', () => {
    const a = { fingerprint: 'f', status: 'firing' as const, startsAt: 't1' };
    const keys = new Set([dedupeKey('s', a), dedupeKey('t', a), dedupeKey('s', { ...a, status: 'resolved' }), dedupeKey('s', { ...a, startsAt: 't2' })]);
    assert.equal(keys.size, 4);
  });

  it('is the same for one instant however it is written (Go trims the fraction, JavaScript does not)', () => {
    const key = (startsAt: string) => dedupeKey('s', { fingerprint: 'f', status: 'firing', startsAt });
    const k = key('2026-11-21T07:50:01.12Z');
    for (const t of ['2026-11-21T07:50:01.120Z', '2026-11-21T07:50:01.120000000Z', '2026-11-21T16:50:01.12+09:00']) assert.equal(key(t), k, t);
    assert.notEqual(key('2026-11-21T07:50:01.121Z'), k);
    assert.notEqual(key('2026-11-21T07:50:01.120000001Z'), k);
    assert.equal(instantOf('not a time'), 'not a time');
  });
});

const note: Notification = {
  key: 'k', status: 'firing', alertname: 'CheckError', severity: 'error', summary: 'mysql on db1 <prod> & co', env: 'prod', host: 'db1', check: 'mysql',
  labels: {}, annotations: {}, startsAt: '2024-09-02T08:35:21Z', endsAt: '0001-01-01T00:00:00Z', fingerprint: 'f', generatorURL: '',
  logql: '{job="imom", host="db1"}', lines: [{ time: '2024-09-02T08:35:21.000Z', line: 'Status=ERROR, Seconds_Behind_Master=270' }], exploreUrl: 'https://g/explore?a=1&b=2',
};

describe('formatters', () => {
  it('escape chat markup and carry the lines and the link', () => {
    const slack = formatFor(note, { type: 'slack', name: 's', url: 'https://hooks.slack.com/x', send_resolved: true, timeout: 1000 });
    assert.ok(slack.body.includes('mysql on db1 &lt;prod&gt; &amp; co'));
    const tg = JSON.parse(formatFor(note, { type: 'telegram', name: 't', bot_token: 'T0K', chat_id: '1', api_url: 'https://api.telegram.org', send_resolved: true, timeout: 1000 }).body) as { text: string };
    assert.match(tg.text, /<b>\[ERROR\] mysql on db1 &lt;prod&gt; &amp; co<\/b>/);
    assert.ok(tg.text.includes('<a href="https://g/explore?a=1&amp;b=2">'));
    const long = { ...note, lines: Array.from({ length: 100 }, (_, i) => ({ time: note.lines[0]!.time, line: `${'x'.repeat(90)} ${i}` })) };
    const tg2 = JSON.parse(formatFor(long, { type: 'telegram', name: 't', bot_token: 'T0K', chat_id: '1', api_url: 'https://api.telegram.org', send_resolved: true, timeout: 1000 }).body) as { text: string };
    assert.ok(tg2.text.length <= 4096 && tg2.text.includes(' 99\n') === false && tg2.text.includes('x 99'), 'Telegram keeps the newest lines within 4096 characters');
  });
});

const TARGETS: TargetConfig[] = [
  { type: 'slack', name: 's', url: 'https://hooks.slack.com/x', send_resolved: true, timeout: 1000 },
  { type: 'teams', name: 'm', url: 'https://teams.example/x', send_resolved: true, timeout: 1000 },
  { type: 'google_chat', name: 'g', url: 'https://chat.googleapis.com/x?key=k', send_resolved: true, timeout: 1000 },
  { type: 'telegram', name: 't', bot_token: 'T0K', chat_id: '1', api_url: 'https://api.telegram.org', send_resolved: true, timeout: 1000 },
];
/** The stand-in's path for each target type, as in relay.test.ts. */
const PATH_OF: Record<string, string> = { slack: '/slack', teams: '/teams', google_chat: '/gchat', telegram: '/telegram' };
const MARKUP = 'x <users/all> <https://x|y> [a](https://x) *bold* _it_ ~st~ `c`';

describe('formatters with hostile alert text', () => {
  it('Google Chat and Teams escape their markup: mentions, <url|text> and Markdown links, emphasis', () => {
    const n = { ...note, summary: MARKUP, host: MARKUP };
    const g = (JSON.parse(formatFor(n, TARGETS[2]!).body) as { text: string }).text;
    for (const bad of ['<users/all>', '<https://x|y>', '[a](https://x)', '*bold*', '_it_', '~st~', '`c`']) assert.ok(!g.includes(bad), `Google Chat: raw ${bad}`);
    const card = (JSON.parse(formatFor(n, TARGETS[1]!).body) as TeamsMessage).attachments[0]!.content;
    for (const b of card.body) {
      const markdown = [b.text ?? '', ...(b.facts ?? []).flatMap((f) => [f.title, f.value])];
      assert.ok(markdown.every((t) => !t.includes('users/all') && !t.includes('[a]')), `Teams: alert text in a ${b.type}, whose Markdown is parsed`);
    }
  });

  it('every formatter keeps to its limits with a 100 KB label, 100 KB lines and a 300 KB Explore link, and says what it cut', () => {
    const big = `${MARKUP}\n\u001b${'é'.repeat(100_000)}`;
    const n = {
      ...note, summary: big, host: big, check: big, env: big, alertname: big, logql: big, exploreUrl: `https://g/explore?q=${'a'.repeat(300_000)}`,
      lines: Array.from({ length: 100 }, (_, i) => ({ time: note.lines[0]!.time, line: `${i} ${big}` })),
    };
    for (const t of TARGETS) {
      for (const shape of ['full', 'minimal'] as const) {
        const out = formatFor(n, t, shape);
        const json = JSON.parse(out.body) as unknown;
        assert.ok(withinLimits({ method: 'POST', path: PATH_OF[t.type]!, headers: {}, body: out.body, json }), `${t.type} ${shape} within limits`);
        const texts = stringsOf(json);
        assert.ok(texts.some((s) => /…\(\d+ bytes cut\)/.test(s)), `${t.type} ${shape} marks the cut`);
        assert.ok(texts.some((s) => s.includes('Explore link left out: 300020 bytes')), `${t.type} ${shape} says the link is left out`);
        assert.ok(!texts.some((s) => s.includes('\u001b')), `${t.type} ${shape}: no terminal escape`);
      }
    }
  });

  it('fit cuts at a character boundary with the marker, within the limit; oneLine escapes control characters', () => {
    assert.equal(fit('short', 10), 'short');
    const cut = fit(`${'😀'.repeat(50)}`, 40);
    assert.ok(cut.length <= 40 && cut.endsWith('bytes cut)') && !/[\ud800-\udbff]…/.test(cut), cut);
    assert.match(cut, /^(😀)+…\(\d+ bytes cut\)$/);
    const escaped = fit('a&'.repeat(100), 50, { escape: (s) => s.replace(/&/g, '&amp;') });
    assert.ok(escaped.length <= 50 && !/&(a|am|amp)?…/.test(escaped), escaped);
    assert.equal(oneLine('a\nb\r\tc\u001b[0m\u2028'), 'a\\nb\\r\\tc\\u001b[0m\\u2028');
  });
});

describe('Store', () => {
  it('replays queued jobs after a restart and remembers delivered keys', async () => {
    const dir = tempDir('relay-store');
    try {
      const s1 = new Store(dir, 3_600_000);
      assert.deepEqual(s1.open(), []);
      const j1 = await s1.enqueue('slack', 'k1', note);
      await s1.enqueue('slack', 'k2', note);
      await s1.markDelivered(j1);
      const s2 = new Store(dir, 3_600_000);
      const jobs = s2.open();
      assert.deepEqual(jobs.map((j) => j.key), ['k2']);
      assert.ok(s2.isKnown('k1') && s2.isKnown('k2') && !s2.isKnown('k3'));
      await s2.deadLetter(jobs[0]!, 'HTTP 404');
      assert.ok(readFileSync(join(dir, 'dead-letter.jsonl'), 'utf8').includes('HTTP 404'));
      const s3 = new Store(dir, 0); // retention 0: old keys are forgotten
      assert.deepEqual(s3.open(), []);
      assert.ok(!s3.isKnown('k1'));
    } finally {
      removeDir(dir);
    }
  });
});

describe('relay config', () => {
  it('exits 2 naming file, line and path, without echoing secrets', async () => {
    const dir = tempDir('relay-config');
    try {
      const f = join(dir, 'relay.yaml');
      writeFileSync(f, 'token: short-secret\nloki:\n  url: http://127.0.0.1:3100\ntargets:\n  - name: chat\n    type: telegram\n    chat_id: 5\n  - name: x\n    type: pager\n');
      const r = await imom(['relay', '--config', f, '--check-config']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`${f}:1: token: at least 16 characters`));
      assert.match(r.stderr, new RegExp(`${f}:5: targets\\[0\\]\\.bot_token: required`));
      assert.match(r.stderr, new RegExp(`${f}:9: targets\\[1\\]\\.type: `));
      assert.ok(!r.stderr.includes('short-secret'));
      writeFileSync(f, 'token_file: /nonexistent/token\nloki: {url: "http://127.0.0.1:3100"}\ntargets: [{name: a, type: slack, url: "https://hooks.slack.com/x"}]\n');
      const r2 = await imom(['relay', '--config', f]);
      assert.equal(r2.code, 2);
      assert.match(r2.stderr, /token_file: cannot read \/nonexistent\/token: ENOENT/);
    } finally {
      removeDir(dir);
    }
  });
});

const AMTOOL = '/usr/bin/amtool';

describe('ruler/alertmanager.yml', () => {
  const render = (dir: string) => renderAlertmanagerConfig(readFileSync(join(REPO_ROOT, 'ruler', 'alertmanager.yml'), 'utf8'), { relayUrl: 'http://127.0.0.1:1234/alertmanager', tokenFile: join(dir, 'tok') });

  it('renders for a relay URL and token file, keeping the comments', () => {
    const dir = tempDir('am-config');
    try {
      const out = render(dir);
      assert.ok(out.includes('url: http://127.0.0.1:1234/alertmanager') && out.includes(`credentials_file: ${join(dir, 'tok')}`));
      assert.ok(out.includes('# Alertmanager (Debian'), 'comments are kept');
    } finally {
      removeDir(dir);
    }
  });

  // Debian's prometheus-alertmanager ships amtool; without it this is reported as skipped, not passed.
  it('amtool check-config accepts the rendered file', { skip: existsSync(AMTOOL) ? false : `${AMTOOL} is not installed (apt-get install prometheus-alertmanager)` }, async () => {
    const dir = tempDir('am-config');
    try {
      const f = join(dir, 'am.yml');
      writeFileSync(f, render(dir));
      const r = await run(AMTOOL, ['check-config', f], { allowFail: true });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /SUCCESS/);
    } finally {
      removeDir(dir);
    }
  });
});

describe('Relay.accept', () => {
  it('queues each notification once, even for concurrent deliveries of the same webhook', async () => {
    const dir = tempDir('relay-accept');
    const cfg = relayConfigSchema.parse({
      listen: `127.0.0.1:${await freePort()}`, token: 'x'.repeat(16), state_dir: dir, loki: { url: 'http://127.0.0.1:9' },
      retry: { initial: '10s', max: '10s' },
      targets: [{ name: 'a', type: 'webhook', url: 'http://127.0.0.1:9/a' }, { name: 'b', type: 'slack', url: 'http://127.0.0.1:9/b' }],
    });
    const relay = new Relay(cfg, 'x'.repeat(16), () => undefined);
    await relay.start();
    try {
      const alert = { status: 'firing' as const, labels: { alertname: 'A', host: 'h' }, annotations: { logql: '{job="imom"}' }, startsAt: '2026-01-01T00:00:00Z', endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: 'fp' };
      const results = await Promise.all([relay.accept([alert]), relay.accept([alert]), relay.accept([alert, alert])]);
      assert.equal(results.reduce((n, r) => n + r.queued, 0), 2, 'one per target');
      assert.equal(results.reduce((n, r) => n + r.duplicates, 0), 6);
      assert.equal(relay.queued, 2);
      const again = await relay.accept([{ ...alert, status: 'resolved', endsAt: '2026-01-01T00:05:00Z' }]);
      assert.deepEqual(again, { queued: 2, duplicates: 0 }, 'the resolved notice is a new notification');
    } finally {
      await relay.stop();
      removeDir(dir);
    }
  });
});
