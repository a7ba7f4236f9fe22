/**
 * Rule templates render as Loki's ruler renders them: a real Loki ruler fires a rule whose
 * labels and annotations use Go's trim markers ({{- and -}}), $labels and $value, and
 * rules/template.ts (through the rule tester's simulate) must produce the identical strings.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { rulerAlerts, type RulerAlert } from '../../agent/src/loki-client/index.js';
import { simulate, type AlertingRule } from '../../agent/src/rules/runner.js';
import { expandTemplate } from '../../agent/src/rules/template.js';
import { pushStreams, startLoki, type LokiHandle } from '../harness/loki.js';
import { removeDir, tempDir, waitFor } from '../harness/proc.js';

const JOB = 'imom-template-test';
const SERIES = { host: 'db1', check: 'mysql' };

/** Each with what Go's text/template makes of it, for the series above and the value 3. */
const ANNOTATIONS: Record<string, [template: string, rendered: string]> = {
  both_sides: ['host  {{- $labels.host -}}  , check {{ $labels.check }}', 'hostdb1, check mysql'],
  newlines_and_tabs: ['value:\n\t {{- $value -}} \n\n lines', 'value:3lines'],
  block: ['first line\n{{- " joined" }}\n{{ $labels.host -}}\n   tail\n', 'first line joined\ndb1tail\n'],
  carriage_return: ['a\t\r\n{{- $labels.host }}\t{{- $labels.check }}', 'adb1mysql'],
  marker_needs_space: ['n={{-3}} m={{- -3 }}', 'n=-3 m=-3'],
  printf_and_dot_labels: ['{{- printf "%.1f" $value }} of {{ .Labels.check -}} !', '3.0 of mysql!'],
  no_markers: ['{{ $value }} lines on {{ $labels.host }}  ', '3 lines on db1  '],
};

const RULE: AlertingRule = {
  alert: 'TemplateProbe',
  expr: `sum by (host, check) (count_over_time({job="${JOB}"}[10m])) > 0`,
  forMs: 0,
  labels: { severity: 'info', where: ' {{- $labels.host -}} / {{- $labels.check }}' },
  annotations: Object.fromEntries(Object.entries(ANNOTATIONS).map(([k, [t]]) => [k, t])),
  file: 'template.yaml',
  group: 'template',
};

let loki: LokiHandle;
let rulesDir: string;

before(async () => {
  rulesDir = tempDir('template-rules');
  mkdirSync(rulesDir, { recursive: true });
  writeFileSync(join(rulesDir, 'template.yaml'), stringify({
    groups: [{ name: RULE.group, interval: '1s', rules: [{ alert: RULE.alert, expr: RULE.expr, labels: RULE.labels, annotations: RULE.annotations }] }],
  }));
  // Nothing listens on port 9: the ruler's notifications fail, its alerts API still shows the alert.
  loki = await startLoki({ rulesDir, alertmanagerUrl: 'http://127.0.0.1:9', env: { LOKI_RULER_POLL_INTERVAL: '1s', LOKI_RULER_EVALUATION_INTERVAL: '1s' } });
  const t = Date.now() - 1000;
  await pushStreams(loki.url, [{ labels: { job: JOB, ...SERIES }, entries: [[t, 'one'], [t + 1, 'two'], [t + 2, 'three']] }]);
});

after(async () => {
  await loki?.close();
  if (rulesDir) removeDir(rulesDir);
});

describe('rule templates against the real Loki ruler', () => {
  let fired: RulerAlert;
  before(async () => {
    // Wait for an evaluation that saw all three lines (an earlier one may have seen none).
    fired = await waitFor(async () => (await rulerAlerts({ url: loki.url })).find((a) => a.labels.alertname === RULE.alert && Number(a.value) === 3), 120_000, `${RULE.alert} firing with value 3`, 500);
  });

  it('Loki renders the trim markers as Go does', () => {
    for (const [name, [, rendered]] of Object.entries(ANNOTATIONS)) assert.equal(fired.annotations[name], rendered, name);
    assert.equal(fired.labels.where, 'db1/mysql');
  });

  it('template.ts renders every annotation and label identically', () => {
    const data = { labels: SERIES, value: 3 };
    for (const [name, [template]] of Object.entries(ANNOTATIONS)) assert.equal(expandTemplate(template, data), fired.annotations[name], name);
    assert.equal(expandTemplate(RULE.labels.where!, data), fired.labels.where);
  });

  it('the rule tester fires the same alert, labels and annotations as the ruler', async () => {
    const steps = await simulate(RULE, { url: loki.url }, Date.now(), 1000, 0, 1);
    assert.deepEqual(steps.get(0), [{ labels: fired.labels, annotations: fired.annotations }]);
  });
});
