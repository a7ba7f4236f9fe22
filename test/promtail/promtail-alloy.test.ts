/**
 * promtail/alloy/imom.alloy mirrors promtail/promtail.yaml. No Alloy binary or parser runs
 * here: the Go module proxy, the only Go source this network reaches, refuses
 * github.com/grafana/alloy, alloy/syntax, grafana/river and grafana/agent (404/403 "not
 * available"), and npm and PyPI have no Alloy parser. So the Alloy file is read into its blocks
 * (alloy-reader.ts) and each Promtail scrape job is compared with its own Alloy components:
 * the same labels and variables in its local.file_match, the same stages in the same order with
 * the same strings inside its own loki.process, and the same client settings in loki.write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../harness/proc.js';
import { readAlloy, theBlock, type AlloyValue } from './alloy-reader.js';

const promtailText = readFileSync(join(REPO_ROOT, 'promtail', 'promtail.yaml'), 'utf8');
const alloy = readAlloy(readFileSync(join(REPO_ROOT, 'promtail', 'alloy', 'imom.alloy'), 'utf8'));

type PromtailValue = string | number | boolean | null | PromtailValue[] | { [key: string]: PromtailValue };
interface Job { job_name: string; static_configs: { labels: Record<string, string> }[]; pipeline_stages: Record<string, PromtailValue>[] }
interface Client { url: string; tenant_id: string; batchwait: string; batchsize: number; timeout: string; backoff_config: { min_period: string; max_period: string; max_retries: number }; tls_config: Record<string, string> }
const cfg = parse(promtailText) as { clients: Client[]; scrape_configs: Job[] };

/**
 * A Promtail value as imom.alloy writes it: `${VAR:-default}` becomes
 * `coalesce(sys.env("VAR"), "default")`, joined to literal text with `+`. Promtail's default
 * `localhost` becomes `constants.hostname`: Promtail can only name a fixed default, Alloy has the
 * host's own name, and that is what the Promtail default stands for.
 */
function alloyOf(v: PromtailValue): AlloyValue {
  if (Array.isArray(v)) return v.map(alloyOf);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, alloyOf(x)]));
  if (typeof v !== 'string') {
    assert.notEqual(v, null, 'a Promtail value is null');
    return v as number | boolean;
  }
  if (!v.includes('${')) return v;
  const parts: string[] = [];
  let last = 0;
  for (const m of v.matchAll(/\$\{([A-Z_]+):-([^}]*)\}/g)) {
    if (m.index > last) parts.push(JSON.stringify(v.slice(last, m.index)));
    parts.push(`coalesce(sys.env("${m[1]}"), ${m[2] === 'localhost' ? 'constants.hostname' : JSON.stringify(m[2])})`);
    last = m.index + m[0].length;
  }
  if (last < v.length) parts.push(JSON.stringify(v.slice(last)));
  assert.ok(!parts.some((p) => p.includes('${')), `a variable in ${v} that is not \${VAR:-default}`);
  return { expr: parts.join(' + ') };
}

/** Each Promtail stage: its Alloy block, and the attributes that block must have (no more, no fewer). */
const STAGES: Record<string, { block: string; attrs: (body: PromtailValue) => AlloyValue }> = {
  regex: { block: 'stage.regex', attrs: alloyOf },
  multiline: { block: 'stage.multiline', attrs: alloyOf },
  timestamp: { block: 'stage.timestamp', attrs: alloyOf },
  json: { block: 'stage.json', attrs: alloyOf },
  labels: { block: 'stage.labels', attrs: (b) => ({ values: alloyOf(b) }) },
  structured_metadata: { block: 'stage.structured_metadata', attrs: (b) => ({ values: alloyOf(b) }) },
  labeldrop: { block: 'stage.label_drop', attrs: (b) => ({ values: alloyOf(b) }) },
};

/** A Promtail job_name's Alloy component label: imom-checks → imom_checks. */
const componentOf = (job: Job) => job.job_name.replaceAll('-', '_');

test('the file is read as blocks: a component for every job, and nothing the reader skipped', () => {
  const names = alloy.map((b) => `${b.name} "${b.label}"`);
  const want = ['loki.write "default"', ...cfg.scrape_configs.flatMap((j) => ['local.file_match', 'loki.source.file', 'loki.process'].map((n) => `${n} "${componentOf(j)}"`))];
  assert.deepEqual(names, want);
});

for (const job of cfg.scrape_configs) {
  const name = componentOf(job);

  test(`${job.job_name}: each pipeline stage has its twin, in order and with the same strings, inside loki.process "${name}"`, () => {
    const process = theBlock(alloy, 'loki.process', name);
    const stages = process.blocks.filter((b) => b.name.startsWith('stage.'));
    assert.deepEqual(process.blocks.map((b) => b.name), stages.map((b) => b.name), 'loki.process holds only stages');
    const want = job.pipeline_stages.map((stage) => {
      const entries = Object.entries(stage);
      assert.equal(entries.length, 1, `${job.job_name}: one kind per stage`);
      const [kind, body] = entries[0]!;
      const mapping = STAGES[kind];
      assert.ok(mapping, `${job.job_name}: stage ${kind} has an Alloy mapping`);
      return { block: mapping.block, attrs: mapping.attrs(body) };
    });
    assert.deepEqual(stages.map((s) => ({ block: s.name, attrs: s.attrs })), want);
    assert.deepEqual(process.attrs, { forward_to: [{ expr: 'loki.write.default.receiver' }] });
  });

  test(`${job.job_name}: the same labels and environment variables (with the same defaults) in local.file_match "${name}", read into loki.process "${name}"`, () => {
    assert.equal(job.static_configs.length, 1, `${job.job_name}: one static config`);
    const match = theBlock(alloy, 'local.file_match', name);
    assert.deepEqual(match.attrs, { path_targets: [alloyOf(job.static_configs[0]!.labels)] });
    const source = theBlock(alloy, 'loki.source.file', name);
    assert.deepEqual(source.attrs, { targets: { expr: `local.file_match.${name}.targets` }, forward_to: [{ expr: `loki.process.${name}.receiver` }] });
  });
}

test('loki.write "default" has the client settings of promtail.yaml', () => {
  assert.equal(cfg.clients.length, 1);
  const c = cfg.clients[0]!;
  const write = theBlock(alloy, 'loki.write', 'default');
  assert.deepEqual(write.attrs, {});
  assert.deepEqual(theBlock(write.blocks, 'endpoint').attrs, {
    url: alloyOf(c.url),
    tenant_id: alloyOf(c.tenant_id),
    batch_wait: c.batchwait,
    batch_size: `${c.batchsize / 1_048_576}MiB`,
    remote_timeout: c.timeout,
    min_backoff_period: c.backoff_config.min_period,
    max_backoff_period: c.backoff_config.max_period,
    max_backoff_retries: c.backoff_config.max_retries,
  });
  assert.deepEqual(theBlock(theBlock(write.blocks, 'endpoint').blocks, 'tls_config').attrs, alloyOf(c.tls_config));
});
