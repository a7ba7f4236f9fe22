/**
 * The relay against the real Alertmanager (Debian's 0.25, configured with
 * ruler/alertmanager.yml) and the real Loki: alerts go to Alertmanager's API v2 as the
 * Loki ruler sends them, Alertmanager routes them to `imom relay`, and the relay posts
 * to a local HTTP server standing in for Slack, Teams, Google Chat, Telegram and a
 * JSON webhook.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseExploreUrl } from '../../agent/src/relay/explore.js';
import { startAlertmanager, type AlertmanagerHandle, type AmAlertInput } from '../harness/alertmanager.js';
import { startChat, type ChatServer } from '../harness/chat.js';
import { platformAnswer, refusal, slackProblem, stringsOf, telegramParsed, type SlackMessage, type TeamsMessage } from './chat-limits.js';
import { queryRange, pushStreams } from '../harness/loki.js';
import { startPrivateLoki, type PrivateLoki } from '../../agent/src/rules/loki-process.js';
import { freePort, REPO_ROOT, removeDir, sleep, startDaemon, tempDir, waitFor, type Daemon } from '../harness/proc.js';

const TOKEN = 'relay-token-0123456789abcdef';
const BOT = '123456:telegram-bot-secret';
const BAD_LINE = 'Status=ERROR, Slave=10.100.21.234, Slave_IO_Running=Yes, Slave_SQL_Running=No, Seconds_Behind_Master=270';
const OTHER_LINE = 'Status=ERROR, Slave=10.100.21.99, Slave_SQL_Running=No, Seconds_Behind_Master=999';
const PATHS = ['/slack', '/teams', '/gchat', `/telegram/bot${BOT}/sendMessage`, '/hook'];
const TARGETS = ['slack', 'teams', 'gchat', 'telegram', 'hook'];

let loki: PrivateLoki;
const TENANT = 'relay-test';
let chat: ChatServer;
let am: AlertmanagerHandle;
let relay: Daemon;
let dir: string;
let relayPort: number;
let relayConfig: string;
let lineTime: number;

function startRelay(): Daemon {
  return startDaemon('relay', process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'agent/src/cli/bin.ts'), 'relay', '--config', relayConfig], { cwd: REPO_ROOT, logFile: join(dir, 'relay.log') });
}

async function relayReady(): Promise<void> {
  await waitFor(async () => (await fetch(`http://127.0.0.1:${relayPort}/healthz`)).ok, 30_000, 'relay ready', 100);
}

function alert(host: string, extra: Partial<AmAlertInput> = {}, severity = 'critical', name = 'CheckCritical'): AmAlertInput {
  return {
    labels: { alertname: name, env: 'test', host, check: 'mysql', severity },
    annotations: {
      summary: `mysql on ${host} (test) is ${severity === 'critical' ? 'CRITICAL' : 'ERROR'}`,
      logql: '{job="imom", level="ERROR"}',
      logql_narrow: 'env,host,check',
    },
    startsAt: new Date(lineTime + 1000).toISOString(),
    generatorURL: 'http://loki/ruler',
    ...extra,
  };
}

/** The relay's queued jobs (one file each) whose notification mentions `text`: a job leaves the queue once its chat answered 2xx. */
function queuedAbout(text = ''): string[] {
  const queueDir = join(dir, 'state', 'queue');
  if (!existsSync(queueDir)) return [];
  return readdirSync(queueDir).filter((f) => f.endsWith('.json') && readFileSync(join(queueDir, f), 'utf8').includes(text));
}

/** The relay's log lines (its stderr, over restarts) that contain every one of `parts`. */
const relayLog = (...parts: string[]) => readFileSync(relay.logFile, 'utf8').split('\n').filter((l) => parts.every((p) => l.includes(p)));

/** The relay delivered the alert to every target, each on its first attempt (a retry logs "after N attempts"). */
function deliveredFirstTime(what: string): boolean {
  return TARGETS.every((t) => relayLog(`delivered ${what} to ${t}`).some((l) => l.endsWith(`delivered ${what} to ${t}`)));
}

/**
 * Alertmanager's debug "flushing" lines of one aggregation group: the group is named by the
 * route that formed it, so these say which route's group_wait and group_interval sent it.
 */
function amFlushes(severity: string, alertname: string, host: string): string[] {
  const group = `aggrGroup="{}/{severity=\\"${severity}\\"}:{alertname=\\"${alertname}\\", check=\\"mysql\\", env=\\"test\\", host=\\"${host}\\"}"`;
  return readFileSync(join(am.dir, 'alertmanager.log'), 'utf8').split('\n').filter((l) => l.includes(group) && l.includes('msg=flushing'));
}

const isResolved = (body: string) => body.includes('RESOLVED') || body.includes('"status":"resolved"');

/** The messages on every target path whose body mentions `text`. */
function messagesAbout(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of PATHS) out.set(p, chat.delivered(p).map((r) => r.body).filter((b) => b.includes(text)));
  return out;
}

before(async () => {
  dir = tempDir('relay-test');
  // The stand-in answers as each platform does to a message over its documented limits.
  [loki, chat] = await Promise.all([startPrivateLoki(), startChat({ answer: platformAnswer })]);
  relayPort = await freePort();
  // Milliseconds ending in 0: Alertmanager (Go) writes startsAt as .12Z where JavaScript writes
  // .120Z, so the webhook replay below is a different spelling of the same instant.
  lineTime = Math.floor((Date.now() - 30_000) / 100) * 100 + 20;
  await pushStreams(loki.url, [
    { labels: { job: 'imom', env: 'test', host: 'db1', check: 'mysql', level: 'ERROR' }, entries: [[lineTime, BAD_LINE]] },
    { labels: { job: 'imom', env: 'test', host: 'db9', check: 'mysql', level: 'ERROR' }, entries: [[lineTime, OTHER_LINE]] },
    { labels: { job: 'imom', env: 'test', host: 'db1', check: 'mysql', level: 'OK' }, entries: [[lineTime - 5000, 'Status=OK, Slave=10.100.21.234, Seconds_Behind_Master=0']] },
  ], { tenant: TENANT });
  const tokenFile = join(dir, 'relay.token');
  writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  relayConfig = join(dir, 'relay.yaml');
  writeFileSync(relayConfig, `
listen: 127.0.0.1:${relayPort}
token_file: ${tokenFile}
state_dir: ${join(dir, 'state')}
loki:
  url: ${loki.url}
  tenant: ${TENANT}
  lines: 5
  lookback: 10m
grafana:
  url: http://grafana.example:3000
  datasource_uid: loki-ds
retry:
  initial: 200ms
  max: 1s
targets:
  - {name: slack, type: slack, url: ${chat.url}/slack}
  - {name: teams, type: teams, url: ${chat.url}/teams}
  - {name: gchat, type: google_chat, url: "${chat.url}/gchat?key=k&token=t"}
  - {name: telegram, type: telegram, api_url: ${chat.url}/telegram, bot_token: "${BOT}", chat_id: "-1001"}
  - {name: hook, type: webhook, url: ${chat.url}/hook, headers: {x-imom: relay}}
`);
  relay = startRelay();
  await relayReady();
  am = await startAlertmanager({ relayUrl: `http://127.0.0.1:${relayPort}/alertmanager`, tokenFile });
});

after(async () => {
  await Promise.allSettled([am?.stop(), relay?.stop(), loki?.stop(), chat?.stop()]);
  removeDir(dir);
});

describe('relay behind the real Alertmanager', () => {
  it('posts one message per target with summary, severity, host, check, the offending line and an Explore link', async () => {
    await am.postAlerts([alert('db1')]);
    await waitFor(() => [...messagesAbout('mysql on db1').values()].every((m) => m.length >= 1), 20_000, 'a message on every target');
    // Fast by construction, not by a stopwatch: Alertmanager sent it through the critical route
    // (group_wait 1 s, not the default 10 s), and the relay posted it on its first attempt.
    assert.ok(amFlushes('critical', 'CheckCritical', 'db1').some((l) => l.includes('[active]')), 'flushed by the critical route');
    assert.ok(deliveredFirstTime('CheckCritical firing host=db1 check=mysql'), readFileSync(relay.logFile, 'utf8'));

    const slack = JSON.parse(messagesAbout('mysql on db1').get('/slack')![0]!) as { text: string; blocks: { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { url?: string }[] }[] };
    const slackText = JSON.stringify(slack);
    assert.match(slack.blocks[0]!.text!.text, /\[CRITICAL\] mysql on db1 \(test\) is CRITICAL/);
    for (const f of ['*Host*\\ndb1', '*Check*\\nmysql', '*Severity*\\ncritical']) assert.ok(slackText.includes(f), `slack has ${f}`);
    assert.ok(slackText.includes('Seconds_Behind_Master=270'), 'slack shows the offending line');
    assert.ok(!slackText.includes('Seconds_Behind_Master=999'), 'lines are narrowed to the alert host');
    assert.ok(!slackText.includes('Seconds_Behind_Master=0'), 'lines are narrowed to the ERROR selector');
    const button = slack.blocks.find((b) => b.type === 'actions')!.elements![0]!.url!;

    // The Explore link opens exactly those lines: Grafana 11 panes format, our datasource, the narrowed query, a range around them.
    const ex = parseExploreUrl(button)!;
    assert.ok(button.startsWith('http://grafana.example:3000/explore?schemaVersion=1&orgId=1&panes='));
    assert.equal(ex.datasourceUid, 'loki-ds');
    assert.equal(ex.expr, '{job="imom", level="ERROR", env="test", host="db1", check="mysql"}');
    assert.ok(ex.fromMs <= lineTime && ex.toMs >= lineTime, 'the range covers the line');
    const viaLink = await queryRange(loki.url, ex.expr, { start: new Date(ex.fromMs), end: new Date(ex.toMs), tenant: TENANT });
    assert.deepEqual(viaLink.map((e) => e.line), [BAD_LINE], 'the link query finds the line in the real Loki');

    const teams = JSON.parse(messagesAbout('mysql on db1').get('/teams')![0]!) as { type: string; attachments: { contentType: string; content: { type: string; version: string; body: unknown[]; actions: { type: string; url: string }[] } }[] };
    assert.equal(teams.type, 'message');
    assert.equal(teams.attachments[0]!.contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(teams.attachments[0]!.content.type, 'AdaptiveCard');
    assert.equal(teams.attachments[0]!.content.actions[0]!.url, button);
    assert.ok(JSON.stringify(teams.attachments[0]!.content.body).includes('Seconds_Behind_Master=270'));

    const tg = JSON.parse(messagesAbout('mysql on db1').get(`/telegram/bot${BOT}/sendMessage`)![0]!) as { chat_id: string; parse_mode: string; text: string };
    assert.equal(tg.chat_id, '-1001');
    assert.equal(tg.parse_mode, 'HTML');
    assert.match(tg.text, /<pre>[^<]*Seconds_Behind_Master=270/);
    assert.ok(tg.text.includes(button.replace(/&/g, '&amp;')), 'telegram links to Explore');

    const gchatReq = chat.delivered('/gchat').find((r) => r.body.includes('mysql on db1'))!;
    assert.match(gchatReq.path, /^\/gchat\?key=k&token=t&messageReplyOption=/);
    const gchat = gchatReq.json as { text: string };
    assert.ok(gchat.text.includes('Seconds_Behind_Master=270') && gchat.text.includes(`<${button}|Open in Grafana Explore>`));

    const hookReq = chat.delivered('/hook').find((r) => r.body.includes('mysql on db1'))!;
    assert.equal(hookReq.headers['x-imom'], 'relay');
    const hook = hookReq.json as { status: string; severity: string; host: string; check: string; lines: { line: string }[]; explore_url: string };
    assert.deepEqual([hook.status, hook.severity, hook.host, hook.check], ['firing', 'critical', 'db1', 'mysql']);
    assert.deepEqual(hook.lines.map((l) => l.line), [BAD_LINE]);
    assert.equal(hook.explore_url, button);
  });

  it('never posts the same notification twice: repeated ruler sends and webhook replays', async () => {
    // The Loki ruler re-sends a firing alert on every evaluation; Alertmanager re-notifies on group changes.
    for (let i = 0; i < 6; i++) {
      await am.postAlerts([alert('db1')]);
      await sleep(2000);
    }
    // A replay of the exact webhook Alertmanager sent (as after its repeat_interval).
    const payload = {
      version: '4', groupKey: 'g', truncatedAlerts: 0, status: 'firing', receiver: 'relay', groupLabels: {}, commonLabels: {}, commonAnnotations: {}, externalURL: am.url,
      alerts: [{ status: 'firing', labels: alert('db1').labels, annotations: alert('db1').annotations, startsAt: alert('db1').startsAt, endsAt: '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: await fingerprintOf('db1') }],
    };
    const r = await fetch(`http://127.0.0.1:${relayPort}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { queued: 0, duplicates: 5 });
    // The relay acknowledged the replay with nothing queued, and nothing it accepted before is
    // still queued: no message about db1 can still be on its way.
    await waitFor(() => queuedAbout().length === 0, 30_000, 'the relay queue drained');
    for (const [p, msgs] of messagesAbout('mysql on db1')) assert.equal(msgs.length, 1, `exactly one message on ${p}`);
  });

  it('inhibits the ERROR alert of a target that is CRITICAL', async () => {
    await am.postAlerts([alert('db1', {}, 'error', 'CheckError')]);
    await waitFor(async () => (await am.alerts()).find((a) => a.labels.alertname === 'CheckError' && a.status.state === 'suppressed'), 10_000, 'CheckError suppressed');
    const got = (await am.alerts()).find((a) => a.labels.alertname === 'CheckError')!;
    assert.ok(got.status.inhibitedBy.length > 0, 'inhibited by the CRITICAL alert');
    // The error route's group_wait is over: Alertmanager flushed the group into its notify pipeline.
    await waitFor(() => amFlushes('error', 'CheckError', 'db1').length >= 1, 30_000, 'the error group flushed');
    // Resolve it while still inhibited, so it is never notified.
    await am.postAlerts([alert('db1', { endsAt: new Date().toISOString() }, 'error', 'CheckError')]);
    // A group flushes again only once its previous flush went through the whole pipeline
    // (inhibition, then the webhook, which the relay answers once the job is on disk). So after
    // the next flush (group_interval 15 s) anything the first one sent is queued or delivered.
    await waitFor(() => amFlushes('error', 'CheckError', 'db1').length >= 2, 60_000, 'the error group flushed again');
    assert.deepEqual(queuedAbout('CheckError'), [], 'no ERROR notification queued');
    assert.equal(messagesAbout('is ERROR').get('/slack')!.length, 0, 'no ERROR message while the CRITICAL one fires');
  });

  it('posts a resolved notice once the alert resolves', async () => {
    await am.postAlerts([alert('db1', { endsAt: new Date().toISOString() })]);
    await waitFor(() => PATHS.every((p) => chat.delivered(p).some((r) => isResolved(r.body) && r.body.includes('mysql on db1'))), 30_000, 'resolved notices');
    // Sent on the critical route's group_interval (10 s, not the default 30 s): its group flushed it.
    assert.ok(amFlushes('critical', 'CheckCritical', 'db1').some((l) => l.includes('[resolved]')), 'resolved flushed by the critical route');
    // Every resolved notice the relay accepted has reached its chat: the counts below are final.
    await waitFor(() => queuedAbout().length === 0, 30_000, 'the relay queue drained');
    const hook = chat.delivered('/hook').map((r) => r.json as { status: string; host: string }).filter((j) => j.status === 'resolved');
    assert.equal(hook.length, 1);
    assert.equal(hook[0]!.host, 'db1');
    const slack = chat.delivered('/slack').filter((r) => r.body.includes('RESOLVED'));
    assert.equal(slack.length, 1);
    assert.ok(slack[0]!.body.includes('✅'));
    assert.equal(messagesAbout('is ERROR').get('/slack')!.length, 0, 'the inhibited ERROR alert, resolved meanwhile, is never posted');
  });

  it('requires the bearer token', async () => {
    const body = JSON.stringify({ version: '4', groupKey: 'x', status: 'firing', receiver: 'relay', alerts: [] });
    const none = await fetch(`http://127.0.0.1:${relayPort}/alertmanager`, { method: 'POST', body });
    assert.equal(none.status, 401);
    assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="imom-relay"');
    const wrong = await fetch(`http://127.0.0.1:${relayPort}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}x` }, body });
    assert.equal(wrong.status, 401);
    const bad = await fetch(`http://127.0.0.1:${relayPort}/alertmanager`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ version: '3', alerts: 'no' }) });
    assert.equal(bad.status, 400, 'a body that is not a v4 webhook is refused');
  });

  it('keeps a notification on disk across a relay kill -9 while chat is down, and delivers it once chat is back', async () => {
    await chat.stop();
    const before = chat.requests.length;
    await am.postAlerts([alert('db2')]);
    const queueDir = join(dir, 'state', 'queue');
    await waitFor(() => existsSync(queueDir) && readdirSync(queueDir).filter((f) => f.endsWith('.json')).length === PATHS.length, 20_000, 'notifications queued on disk');
    // A few failed attempts on every target before the kill: the jobs are retried from disk, not from memory.
    await waitFor(() => TARGETS.every((t) => relayLog(`CheckCritical firing host=db2 check=mysql to ${t} failed (`).length >= 2), 20_000, 'two failed attempts per target');
    await relay.kill();
    relay = startRelay();
    await relayReady();
    await chat.start();
    await waitFor(() => [...messagesAbout('mysql on db2').values()].every((m) => m.length >= 1), 20_000, 'queued notifications delivered after restart');
    // The restarted relay has delivered every replayed job: nothing about db2 is left to send.
    await waitFor(() => queuedAbout().length === 0 && TARGETS.every((t) => relayLog(`delivered CheckCritical firing host=db2 check=mysql to ${t}`).length >= 1), 30_000, 'every db2 job delivered');
    for (const [p, msgs] of messagesAbout('mysql on db2')) assert.equal(msgs.length, 1, `exactly one db2 message on ${p}`);
    assert.equal(readdirSync(queueDir).filter((f) => f.endsWith('.json')).length, 0, 'queue drained');
    assert.ok(chat.requests.length > before);
    // The restarted relay still knows what it delivered before: no repeat of db1's messages.
    for (const [p, msgs] of messagesAbout('mysql on db1 (test) is CRITICAL')) assert.equal(msgs.filter((m) => !isResolved(m)).length, 1, `db1 still once on ${p}`);
  });
});

/** Alert text as hostile as labels get: every chat's markup, a forged log line, a terminal escape. */
const HOSTILE = 'x <users/all> <https://x|y> [a](https://x) *bold* _it_ ~st~ `c`\n2026-01-01T00:00:00.000Z ERROR imom relay: forged\u001b[31m';
const BIG = 'A'.repeat(100_000);
const CHATS = PATHS.filter((p) => p !== '/hook');
const deadLetters = () => (existsSync(join(dir, 'state', 'dead-letter.jsonl')) ? readFileSync(join(dir, 'state', 'dead-letter.jsonl'), 'utf8') : '');
/** The first message about `text` that each chat took, parsed. */
const deliveredAbout = (text: string) => new Map(CHATS.map((p) => [p, chat.delivered(p).find((r) => r.body.includes(text))]));

describe('relay with hostile alert text', () => {
  it('fits every chat\'s limits with a visible cut marker and escapes every markup, a 100 KB label and all', async () => {
    await am.postAlerts([alert(`evil${HOSTILE}${BIG}`, {
      annotations: { summary: `evil summary ${HOSTILE}${BIG}`, logql: '{job="imom", level="ERROR"}', logql_narrow: 'env,check' },
    })]);
    await waitFor(() => [...deliveredAbout('evil summary').values()].every((r) => r !== undefined), 30_000, 'the hostile alert on every chat');
    const got = deliveredAbout('evil summary');

    const slack = got.get('/slack')!.json as SlackMessage;
    assert.equal(slackProblem(slack), undefined, 'Slack block limits');
    assert.ok(slack.text.length <= 4000, `Slack fallback of ${slack.text.length} characters`);
    // Slack parses mrkdwn and the fallback text; plain_text (the header) is shown as written.
    const slackText = stringsOf({ ...slack, blocks: slack.blocks.filter((b) => b.type !== 'header') }).join('\n');
    assert.ok(!slackText.includes('<users/all>') && !slackText.includes('<https://x|y>'), 'no Slack mention or link from the alert');
    assert.ok(slackText.includes('&lt;users/all&gt;'));
    assert.ok(JSON.stringify(slack).includes('Seconds_Behind_Master=270'), 'Slack still shows the lines');

    const teamsBody = got.get('/teams')!.body;
    assert.ok(Buffer.byteLength(teamsBody) <= 28_000, `Teams message of ${Buffer.byteLength(teamsBody)} bytes`);
    const card = (got.get('/teams')!.json as TeamsMessage).attachments[0]!.content;
    // Markdown is parsed in TextBlock and FactSet; alert text must only be in TextRuns, which are shown as written.
    const markdownTexts = card.body.flatMap((b) => [b.text ?? '', ...(b.facts ?? []).flatMap((f) => [f.title, f.value])]);
    for (const s of markdownTexts) assert.ok(!s.includes('users/all') && !s.includes('[a]') && !s.includes('*bold*'), `Teams markdown text: ${s.slice(0, 100)}`);
    const runs = card.body.flatMap((b) => (b.inlines ?? []).map((r) => r.text));
    assert.ok(runs.some((r) => r.includes('[a](https://x) *bold*')), 'Teams shows the alert text as written');
    assert.ok(teamsBody.includes('Seconds_Behind_Master=270'), 'Teams still shows the lines');

    const gchat = (got.get('/gchat')!.json as { text: string }).text;
    assert.ok(gchat.length <= 4096 && Buffer.byteLength(gchat) <= 32_000, `Google Chat text of ${gchat.length} characters`);
    for (const bad of ['<users/all>', '<https://x|y>', '[a](https://x)', '*bold*', '_it_', '~st~', '`c`']) assert.ok(!gchat.includes(bad), `Google Chat gets no raw ${bad}`);
    assert.equal(gchat.match(/</g)?.length, 1, 'the one < in Google Chat opens the Explore link');
    assert.ok(gchat.includes('‹users/all›') && gchat.includes('∗bold∗'), 'Google Chat shows the alert text with look-alikes');

    const tg = (got.get(`/telegram/bot${BOT}/sendMessage`)!.json as { text: string }).text;
    assert.ok(telegramParsed(tg).length <= 4096 && tg.length <= 4096, `Telegram text of ${tg.length} characters`);
    assert.ok(!tg.includes('<users/all>') && tg.includes('&lt;users/all&gt;'));

    for (const [p, r] of got) {
      const texts = stringsOf(r!.json);
      assert.ok(texts.some((t) => /…\(\d+ bytes cut\)/.test(t)), `${p} marks the cut`);
      assert.ok(!texts.some((t) => t.includes('\u001b')), `${p} carries no terminal escape`);
      assert.ok(!texts.some((t) => t.includes('\n2026-01-01T00:00:00.000Z ERROR')), `${p} shows the label's newline escaped`);
      assert.ok(r!.body.length < 40_000, `${p} body of ${r!.body.length} characters`);
    }
    assert.ok(!deadLetters().includes('evil summary'), 'nothing dead-lettered');
  });

  it('sends a minimal message (title, target, Explore link) when a chat refuses the full one, and dead-letters nothing', async () => {
    // A chat stricter than its documentation: it refuses any message that carries the LogQL.
    chat.setAnswer((m) => platformAnswer(m) ?? (!m.path.startsWith('/hook') && m.body.includes('LogQL') ? refusal(m.path, 'too large') : undefined));
    try {
      await am.postAlerts([alert('db5', { annotations: { summary: 'mysql on db5 (test) refused in full', logql: '{job="imom", level="ERROR"}' } })]);
      await waitFor(() => [...deliveredAbout('refused in full').values()].every((r) => r !== undefined), 30_000, 'a minimal message on every chat');
    } finally {
      chat.setAnswer(platformAnswer);
    }
    for (const [p, r] of deliveredAbout('refused in full')) {
      assert.ok(chat.requests.some((q) => q.path.startsWith(p) && q.status >= 400 && q.body.includes('refused in full')), `${p} refused the full message first`);
      assert.ok(!r!.body.includes('LogQL'), `${p}: the minimal message has no LogQL`);
      assert.ok(r!.body.includes('db5') && r!.body.includes('mysql'), `${p}: the minimal message names host and check`);
      assert.ok(r!.body.includes('grafana.example:3000/explore'), `${p}: the minimal message links to Explore`);
    }
    assert.ok(!deadLetters().includes('refused in full'), 'nothing dead-lettered');
  });

  it('keeps alert text from forging lines or escapes in the relay\'s own log', async () => {
    const name = 'Forge\n2026-01-01T00:00:00.000Z ERROR imom relay: forged line\u001b[2J';
    await am.postAlerts([alert('db6', { labels: { alertname: name, env: 'test', host: 'db6', check: 'mysql', severity: 'critical' } })]);
    await waitFor(() => readFileSync(relay.logFile, 'utf8').includes('delivered Forge'), 30_000, 'the forged alert delivered');
    const log = readFileSync(relay.logFile, 'utf8');
    assert.ok(!log.split('\n').some((l) => l.startsWith('2026-01-01T00:00:00.000Z ERROR imom relay: forged')), 'no forged line in the relay log');
    assert.ok(!log.includes('\u001b'), 'no terminal escape in the relay log');
    assert.ok(log.includes('Forge\\n2026-01-01T00:00:00.000Z ERROR imom relay: forged line\\u001b[2J'), 'the newline and the escape are written escaped');
  });
});

async function fingerprintOf(host: string): Promise<string> {
  const res = await fetch(`${am.url}/api/v2/alerts?filter=host%3D%22${host}%22&filter=alertname%3D%22CheckCritical%22`);
  const list = (await res.json()) as { fingerprint: string }[];
  return list[0]!.fingerprint;
}
