/** Schemas of Loki rule files (Prometheus format) and of `imom rules test` files (promtool-like). */
import { z } from 'zod';
import { parsePromDuration } from './duration.js';

export const promDuration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? (v === 0 ? 0 : undefined) : parsePromDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration like 0s, 30s, 5m or 1h30m' });
    return z.NEVER;
  }
  return ms;
});

const stringMap = z.record(z.string(), z.string());

export const ruleSchema = z
  .object({
    alert: z.string().min(1).optional(),
    record: z.string().min(1).optional(),
    expr: z.string().min(1),
    for: promDuration.optional(),
    keep_firing_for: promDuration.optional(),
    labels: stringMap.optional(),
    annotations: stringMap.optional(),
  })
  .strict()
  .refine((r) => (r.alert === undefined) !== (r.record === undefined), 'a rule needs exactly one of "alert" or "record"');

export const ruleFileSchema = z
  .object({
    groups: z.array(
      z
        .object({
          name: z.string().min(1),
          interval: promDuration.optional(),
          limit: z.number().int().optional(),
          rules: z.array(ruleSchema),
        })
        .strict(),
    ),
  })
  .strict();

export type RuleFile = z.output<typeof ruleFileSchema>;
export type Rule = z.output<typeof ruleSchema>;

/** `{a="x", b="y"}` → { a: 'x', b: 'y' }. */
const labelsText = z.string().transform((s, ctx) => {
  const r = parseLabels(s);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return r;
});

const inputLine = z
  .object({
    at: promDuration.meta({ description: 'Time of the line, relative to the start of the test' }),
    line: z.string(),
    every: promDuration.optional().meta({ description: 'Repeat the line at this interval...' }),
    until: promDuration.optional().meta({ description: '...up to and including this time' }),
  })
  .strict()
  .refine((l) => (l.every === undefined) === (l.until === undefined), '"every" and "until" go together')
  .refine((l) => l.every === undefined || l.every > 0, '"every" must be above 0')
  .refine((l) => l.until === undefined || l.until >= l.at, '"until" must not be before "at"');

/** exp_alerts / exp_samples: a list, where an empty or absent value (`exp_alerts:`) means none. */
const expList = <T extends z.ZodType>(item: T) => z.array(item).nullish().transform((v) => v ?? []);

export const testFileSchema = z
  .object({
    rule_files: z.array(z.string().min(1)).min(1),
    evaluation_interval: promDuration.prefault('1m'),
    tests: z
      .array(
        z
          .object({
            name: z.string().optional(),
            input_streams: z
              .array(
                z
                  .object({
                    labels: labelsText.meta({ description: 'The stream labels: {job="imom", host="db1"}' }),
                    lines: z.array(inputLine),
                  })
                  .strict(),
              )
              .default([]),
            alert_rule_test: z
              .array(
                z
                  .object({
                    eval_time: promDuration,
                    alertname: z.string().min(1),
                    exp_alerts: expList(z.object({ exp_labels: stringMap.default({}), exp_annotations: stringMap.optional() }).strict()),
                  })
                  .strict(),
              )
              .default([]),
            logql_expr_test: z
              .array(
                z
                  .object({
                    expr: z.string().min(1),
                    eval_time: promDuration,
                    exp_samples: expList(z.object({ labels: labelsText.default({}), value: z.number() }).strict()),
                  })
                  .strict(),
              )
              .default([]),
          })
          .strict(),
      )
      .min(1),
  })
  .strict()
  .refine((f) => f.evaluation_interval > 0, { message: 'evaluation_interval must be above 0', path: ['evaluation_interval'] });

export type TestFile = z.output<typeof testFileSchema>;
export type TestCase = TestFile['tests'][number];

/** Parses `{a="x", b="y"}` (equality matchers only) into a label map. */
export function parseLabels(text: string): Record<string, string> | string {
  const s = text.trim();
  if (!s.startsWith('{') || !s.endsWith('}')) return 'expected labels in braces: {name="value", ...}';
  const body = s.slice(1, -1);
  const out: Record<string, string> = {};
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)/y;
  let pos = 0;
  while (pos < body.length) {
    if (/^\s*$/.test(body.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(body);
    if (!m) return `cannot parse labels at "${body.slice(pos, pos + 20)}"`;
    out[m[1]!] = JSON.parse(`"${m[2]!}"`) as string;
    pos = re.lastIndex;
  }
  return out;
}

/** Prometheus' rendering of a label set: sorted, {a="x", b="y"}. */
export function formatLabels(l: Record<string, string>): string {
  return `{${Object.keys(l).sort().map((k) => `${k}=${JSON.stringify(l[k])}`).join(', ')}}`;
}
