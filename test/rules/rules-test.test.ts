/**
 * `imom rules test` against a real Loki: ruler/tests pass, every rule in ruler/rules is
 * covered (with a case that must not fire), a broken rule exits 1 with a promtool-style
 * diff, and a bad test file exits 2 naming file, line and path.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { startPrivateLoki, type PrivateLoki } from '../../agent/src/rules/loki-process.js';
import { imom } from '../harness/cli.js';
import { REPO_ROOT, removeDir, tempDir } from '../harness/proc.js';

const TESTS = join(REPO_ROOT, 'ruler', 'tests');
const RULES = join(REPO_ROOT, 'ruler', 'rules', 'fake', 'imom.yaml');
const testFiles = readdirSync(TESTS).filter((f) => f.endsWith('.yaml')).sort().map((f) => join('ruler', 'tests', f));

let loki: PrivateLoki;
let dir: string;

before(async () => {
  loki = await startPrivateLoki();
  dir = tempDir('rules-test');
});
after(async () => {
  await loki?.stop();
  removeDir(dir);
});

describe('imom rules test', () => {
  it('passes ruler/tests/*.yaml against the real Loki', async () => {
    const r = await imom(['rules', 'test', '--loki-url', loki.url, ...testFiles], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const f of testFiles) assert.ok(r.stdout.includes(`Unit Testing:  ${f}\n  SUCCESS`), `${f} passes:\n${r.stdout}`);
  });

  it('covers every alerting rule, each with a case where it must not fire', () => {
    // Every rule file the ruler loads (rules/fake/*.yaml), not only imom.yaml.
    const ruleFiles = readdirSync(dirname(RULES)).filter((f) => f.endsWith('.yaml')).map((f) => join(dirname(RULES), f));
    const rules = ruleFiles.flatMap((f) => (parse(readFileSync(f, 'utf8')) as { groups: { rules: { alert?: string }[] }[] }).groups.flatMap((g) => g.rules.map((r) => r.alert))).filter(Boolean);
    assert.deepEqual(rules.sort(), ['AgentSilent', 'AppErrorBurst', 'CheckCritical', 'CheckError', 'KafkaConsumerCritical', 'KafkaConsumerSlow', 'KafkaLagHigh', 'KafkaMirrorLagHigh', 'KafkaMirrorLatencyHigh', 'KafkaMirrorStalled', 'LokiChunkFlushFailing', 'LokiMemberDown', 'LokiMemberUnreadable', 'LokiNotificationsFailing', 'LokiObjectStoreErrors', 'LokiRingMemberNotActive', 'LokiRingMemberUnhealthy', 'LokiRuleEvaluationFailing', 'Watchdog']);
    const fires = new Set<string>();
    const silent = new Set<string>();
    for (const f of testFiles) {
      const spec = parse(readFileSync(join(REPO_ROOT, f), 'utf8')) as { tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[] };
      for (const t of spec.tests) for (const a of t.alert_rule_test ?? []) (a.exp_alerts?.length ? fires : silent).add(a.alertname);
    }
    for (const r of rules) {
      assert.ok(fires.has(r!), `${r} has a test where it fires`);
      // Watchdog fires always, by design: it has no case where it must not.
      if (r !== 'Watchdog') assert.ok(silent.has(r!), `${r} has a test where it must not fire`);
    }
  });

  it('exits 1 with a promtool-style diff when a rule is broken', async () => {
    // CheckCritical wanting a severity above CRITICAL's 2: a CRITICAL line no longer fires.
    const broken = readFileSync(RULES, 'utf8').replace(') by (env, host, instance, check, target) == 2', ') by (env, host, instance, check, target) == 3');
    assert.notEqual(broken, readFileSync(RULES, 'utf8'));
    writeFileSync(join(dir, 'broken.yaml'), broken);
    const spec = readFileSync(join(TESTS, 'checks.yaml'), 'utf8').replace('../rules/fake/imom.yaml', 'broken.yaml');
    writeFileSync(join(dir, 'checks.yaml'), spec);
    const r = await imom(['rules', 'test', '--loki-url', loki.url, join(dir, 'checks.yaml')], { timeoutMs: 300_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /  FAILED:\n    name: a CRITICAL and an ERROR line fire for their own host and check only,\n    alertname: CheckCritical, time: 1m5s, \n        exp:\[\n            0:\n              Labels:\{alertname="CheckCritical", check="redis_cluster", env="prod", host="cache1", instance="cache", severity="critical", target="127\.0\.0\.1:6381"\}\n              Annotations:\{logql=.*\n            \], \n        got:\[\]/);
  });

  it('exits 2 on a bad test file, naming file, line and path', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `rule_files: [${RULES}]\nevaluation_interval: 5s\ntests:\n  - input_streams:\n      - labels: 'job=imom'\n        lines: []\n    alert_rule_test:\n      - eval_time: soon\n        alertname: CheckCritical\n`);
    const r = await imom(['rules', 'test', '--loki-url', loki.url, bad]);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`${bad}:5: tests\\[0\\]\\.input_streams\\[0\\]\\.labels: expected labels in braces`));
    assert.match(r.stderr, new RegExp(`${bad}:8: tests\\[0\\]\\.alert_rule_test\\[0\\]\\.eval_time: expected a duration`));
    const unknown = join(dir, 'unknown.yaml');
    writeFileSync(unknown, `rule_files: [${RULES}]\ntests:\n  - alert_rule_test:\n      - eval_time: 1m\n        alertname: NoSuchAlert\n`);
    const u = await imom(['rules', 'test', '--loki-url', loki.url, unknown]);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /alert_rule_test\[0\]\.alertname: no alerting rule "NoSuchAlert"/);
  });
});
