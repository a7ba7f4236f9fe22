/**
 * `imom rules test`: promtool-style unit tests for Loki rules, run against a real Loki.
 *
 * For each test case: push its input lines, at their timestamps, into a fresh tenant;
 * evaluate each needed rule's expr with instant queries at every evaluation step from
 * 0 to the largest eval_time; apply `for:` the way the ruler does; render labels and
 * annotations; compare with exp_alerts and exp_samples.
 */
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../config/errors.js';
import { loadConfigFile } from '../config/load.js';
import { formatPromDuration } from './duration.js';
import { instantQuery, push, type LokiTarget, type PushStream, type Sample } from '../loki-client/index.js';
import { formatLabels, ruleFileSchema, testFileSchema, type TestCase, type TestFile } from './schema.js';
import { expandTemplate, goFloat, TemplateError } from './template.js';

/** Loki's default instant-query limit is 100; a test's vector may be larger. */
const INSTANT_LIMIT = 5000;

export interface AlertingRule {
  alert: string;
  expr: string;
  forMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  file: string;
  group: string;
}

export interface LoadedTestFile {
  file: string;
  spec: TestFile;
  rules: AlertingRule[];
}

/** Loads and checks a test file and its rule files; every problem is a ConfigError (exit 2). */
export function loadTestFile(file: string): LoadedTestFile {
  const spec = loadConfigFile(file, testFileSchema, {});
  const rules: AlertingRule[] = [];
  const problems: string[] = [];
  for (const rf of spec.rule_files) {
    const path = resolve(dirname(file), rf);
    const parsed = loadConfigFile(path, ruleFileSchema, {});
    for (const g of parsed.groups) {
      for (const r of g.rules) {
        if (r.alert === undefined) continue; // recording rules go to a Prometheus; nothing to test here
        rules.push({ alert: r.alert, expr: r.expr, forMs: r.for ?? 0, labels: r.labels ?? {}, annotations: r.annotations ?? {}, file: path, group: g.name });
      }
    }
  }
  // 27h: AgentSilent's 25h look-back, shown firing at 24h of silence (ruler/tests/agent-24h.yaml).
  // The private Loki keeps a test's lines in its ingester and always asks it (loki-process.ts).
  const maxSpan = 27 * 3_600_000;
  spec.tests.forEach((t, i) => {
    t.alert_rule_test.forEach((a, j) => {
      if (!rules.some((r) => r.alert === a.alertname)) problems.push(`${file}: tests[${i}].alert_rule_test[${j}].alertname: no alerting rule "${a.alertname}" in rule_files`);
    });
    if (span(t) > maxSpan) problems.push(`${file}: tests[${i}]: spans ${formatPromDuration(span(t))}; keep a test within 27h`);
  });
  if (problems.length) throw new ConfigError(problems.join('\n'), problems);
  return { file, spec, rules };
}

function span(t: TestCase): number {
  let max = 0;
  for (const s of t.input_streams) for (const l of s.lines) max = Math.max(max, l.until ?? l.at);
  for (const a of t.alert_rule_test) max = Math.max(max, a.eval_time);
  for (const e of t.logql_expr_test) max = Math.max(max, e.eval_time);
  return max;
}

export interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RunOptions {
  loki: LokiTarget;
  concurrency?: number;
  out?: (text: string) => void;
  /** The test's time 0 in ms; default: now minus the test's span, minus a minute. */
  now?: () => number;
}

export interface FileResult {
  file: string;
  failures: string[];
}

/** Runs every test case of one file; returns the failure texts (empty when all passed). */
export async function runTestFile(t: LoadedTestFile, opts: RunOptions): Promise<FileResult> {
  const failures: string[] = [];
  for (const [i, tc] of t.spec.tests.entries()) {
    try {
      failures.push(...(await runTestCase(t, tc, i, opts)));
    } catch (e) {
      failures.push(`    ${tc.name ? `name: ${tc.name},\n    ` : ''}error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { file: t.file, failures };
}

async function runTestCase(t: LoadedTestFile, tc: TestCase, index: number, opts: RunOptions): Promise<string[]> {
  const tenant = `imom-rules-test-${process.pid}-${randomBytes(4).toString('hex')}-${index}`;
  const loki: LokiTarget = { ...opts.loki, tenant };
  const now = (opts.now ?? Date.now)();
  const base = Math.floor((now - span(tc) - 60_000) / 1000) * 1000;
  await pushInputs(loki, tc, base);

  const interval = t.spec.evaluation_interval;
  const failures: string[] = [];
  const head = tc.name ? `    name: ${tc.name},\n` : '';

  // Alerting rules: simulate each needed rule step by step up to its largest eval_time.
  const needed = new Map<string, number>();
  const asked = new Map<string, number[]>();
  for (const a of tc.alert_rule_test) {
    needed.set(a.alertname, Math.max(needed.get(a.alertname) ?? 0, a.eval_time));
    asked.set(a.alertname, [...(asked.get(a.alertname) ?? []), Math.floor(a.eval_time / interval)]);
  }
  const states = new Map<string, Map<number, Alert[]>>();
  for (const [name, maxT] of needed) {
    const byStep = new Map<number, Alert[]>();
    for (const rule of t.rules.filter((r) => r.alert === name)) {
      const steps = await simulate(rule, loki, base, interval, maxT, opts.concurrency ?? 4, asked.get(name));
      for (const [k, alerts] of steps) byStep.set(k, [...(byStep.get(k) ?? []), ...alerts]);
    }
    states.set(name, byStep);
  }
  for (const a of tc.alert_rule_test) {
    const k = Math.floor(a.eval_time / interval);
    const got = (states.get(a.alertname)?.get(k) ?? []).map((g) => ({ labels: g.labels, annotations: g.annotations }));
    // Annotations are compared only when some expected alert gives exp_annotations (promtool always compares them).
    const withAnn = a.exp_alerts.some((e) => e.exp_annotations !== undefined);
    const exp = a.exp_alerts.map((e) => ({ labels: { ...e.exp_labels, alertname: a.alertname }, annotations: withAnn ? (e.exp_annotations ?? {}) : undefined }));
    const gotCmp = got.map((g) => ({ labels: g.labels, annotations: withAnn ? g.annotations : undefined }));
    if (!sameAlerts(exp, gotCmp)) {
      failures.push(`${head}    alertname: ${a.alertname}, time: ${formatPromDuration(a.eval_time)}, \n        exp:${renderAlerts(exp)}, \n        got:${renderAlerts(got)}`);
    }
  }

  for (const e of tc.logql_expr_test) {
    let got: Sample[];
    try {
      got = await instantQuery(loki, e.expr, base + e.eval_time, { limit: INSTANT_LIMIT });
    } catch (err) {
      failures.push(`${head}    expr: ${JSON.stringify(e.expr)}, time: ${formatPromDuration(e.eval_time)}, err: ${(err as Error).message}`);
      continue;
    }
    const exp = e.exp_samples.map((s) => ({ labels: s.labels, value: s.value }));
    if (!sameSamples(exp, got)) {
      failures.push(`${head}    expr: ${JSON.stringify(e.expr)}, time: ${formatPromDuration(e.eval_time)},\n        exp: ${renderSamples(exp)}\n        got: ${renderSamples(got)}`);
    }
  }
  return failures;
}

async function pushInputs(loki: LokiTarget, tc: TestCase, base: number): Promise<void> {
  const streams: PushStream[] = [];
  for (const s of tc.input_streams) {
    const entries: [number, string][] = [];
    for (const l of s.lines) {
      if (l.every !== undefined && l.until !== undefined) for (let at = l.at; at <= l.until; at += l.every) entries.push([base + at, l.line]);
      else entries.push([base + l.at, l.line]);
    }
    entries.sort((a, b) => a[0] - b[0]);
    // Lines at the same millisecond keep their order: spread them by nanoseconds.
    const values: [string, string][] = [];
    let prev = -1;
    let n = 0;
    for (const [ms, line] of entries) {
      n = ms === prev ? n + 1 : 0;
      prev = ms;
      values.push([`${BigInt(ms) * 1_000_000n + BigInt(n)}`, line]);
    }
    streams.push({ labels: s.labels, values });
  }
  for (let i = 0; i < streams.length; i += 50) {
    const chunk = streams.slice(i, i + 50);
    if (chunk.some((c) => c.values.length > 0)) await push(loki, chunk.filter((c) => c.values.length > 0));
  }
}

/**
 * The firing alerts of one rule at each step k (time k*interval), `for:` applied. A rule without
 * `for:` fires at a step on that step's vector alone, so only the `asked` steps are evaluated
 * (a 24h case at 30s would be 2,880 queries otherwise).
 */
export async function simulate(rule: AlertingRule, loki: LokiTarget, base: number, interval: number, maxT: number, concurrency: number, asked?: readonly number[]): Promise<Map<number, Alert[]>> {
  const nSteps = Math.floor(maxT / interval) + 1;
  const vectors: (Sample[] | undefined)[] = new Array(nSteps);
  const todo = rule.forMs === 0 && asked ? [...new Set(asked)].sort((a, b) => a - b) : Array.from({ length: nSteps }, (_, k) => k);
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const k = todo[next++]!;
      try {
        vectors[k] = await instantQuery(loki, rule.expr, base + k * interval, { limit: INSTANT_LIMIT });
      } catch (e) {
        throw new Error(`rule ${rule.alert} (${rule.file}, group ${rule.group}) at ${formatPromDuration(k * interval)}: ${(e as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));

  const active = new Map<string, { activeAt: number; alert: Alert }>();
  const out = new Map<number, Alert[]>();
  for (let k = 0; k < nSteps; k++) {
    const t = k * interval;
    const vector = vectors[k];
    if (!vector) continue; // not evaluated: no `for:`, and no test asks about this step
    const seen = new Set<string>();
    for (const s of vector) {
      const seriesLabels = { ...s.labels };
      delete seriesLabels.__name__;
      const data = { labels: seriesLabels, value: s.value };
      const labels: Record<string, string> = { ...seriesLabels };
      for (const [name, tmpl] of Object.entries(rule.labels)) labels[name] = render(tmpl, data, rule);
      labels.alertname = rule.alert;
      const annotations: Record<string, string> = {};
      for (const [name, tmpl] of Object.entries(rule.annotations)) annotations[name] = render(tmpl, data, rule);
      const key = formatLabels(labels);
      seen.add(key);
      const prev = active.get(key);
      active.set(key, { activeAt: prev?.activeAt ?? t, alert: { labels, annotations } });
    }
    for (const key of [...active.keys()]) if (!seen.has(key)) active.delete(key);
    out.set(k, [...active.values()].filter((a) => t - a.activeAt >= rule.forMs).map((a) => a.alert));
  }
  return out;
}

function render(tmpl: string, data: { labels: Record<string, string>; value: number }, rule: AlertingRule): string {
  try {
    return expandTemplate(tmpl, data);
  } catch (e) {
    if (e instanceof TemplateError) throw new Error(`rule ${rule.alert}: ${e.message}`);
    throw e;
  }
}

interface Cmp { labels: Record<string, string>; annotations?: Record<string, string> | undefined }

function key(a: Cmp): string {
  return formatLabels(a.labels) + (a.annotations ? formatLabels(a.annotations) : '');
}

function sameAlerts(exp: Cmp[], got: Cmp[]): boolean {
  if (exp.length !== got.length) return false;
  const e = exp.map(key).sort();
  const g = got.map(key).sort();
  return e.every((x, i) => x === g[i]);
}

function renderAlerts(list: Cmp[]): string {
  if (list.length === 0) return '[]';
  const sorted = [...list].sort((a, b) => key(a).localeCompare(key(b)));
  return `[\n${sorted.map((a, i) => `            ${i}:\n              Labels:${formatLabels(a.labels)}\n              Annotations:${a.annotations ? formatLabels(a.annotations) : '{}'}\n`).join('')}            ]`;
}

function sameSamples(exp: Sample[], got: Sample[]): boolean {
  if (exp.length !== got.length) return false;
  const g = new Map(got.map((s) => [formatLabels(s.labels), s.value]));
  return exp.every((s) => {
    const v = g.get(formatLabels(s.labels));
    return v !== undefined && (v === s.value || Math.abs(v - s.value) <= 1e-9 * Math.max(1, Math.abs(s.value)));
  });
}

function renderSamples(list: Sample[]): string {
  if (list.length === 0) return '[]';
  return `[${[...list].sort((a, b) => formatLabels(a.labels).localeCompare(formatLabels(b.labels))).map((s) => `${formatLabels(s.labels)} => ${goFloat(s.value)}`).join(', ')}]`;
}
