/**
 * promtail/alloy/imom.alloy mirrors promtail/promtail.yaml. No Alloy binary or parser runs
 * here: the Go module proxy, the only Go source this network reaches, refuses
 * github.com/grafana/alloy, alloy/syntax, grafana/river and grafana/agent (404/403 "not
 * available"), and npm and PyPI have no Alloy parser. So this checks the two files cannot drift:
 * every regex, multiline start, timestamp format, label and environment variable of the
 * Promtail pipeline appears in the Alloy file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../harness/proc.js';

const promtailText = readFileSync(join(REPO_ROOT, 'promtail', 'promtail.yaml'), 'utf8');
const alloy = readFileSync(join(REPO_ROOT, 'promtail', 'alloy', 'imom.alloy'), 'utf8');

interface Job { job_name: string; static_configs: { labels: Record<string, string> }[]; pipeline_stages: Record<string, any>[] }
const cfg = parse(promtailText) as { scrape_configs: Job[] };

test('every pipeline stage of promtail.yaml has its twin in imom.alloy', () => {
  const stageName: Record<string, string> = { regex: 'stage.regex', labels: 'stage.labels', timestamp: 'stage.timestamp', labeldrop: 'stage.label_drop', multiline: 'stage.multiline', json: 'stage.json', structured_metadata: 'stage.structured_metadata' };
  for (const job of cfg.scrape_configs) {
    for (const stage of job.pipeline_stages) {
      const [kind, body] = Object.entries(stage)[0]!;
      assert.ok(stageName[kind], `${job.job_name}: stage ${kind} has an Alloy mapping`);
      assert.ok(alloy.includes(`${stageName[kind]} {`), `${job.job_name}: ${stageName[kind]} present`);
      const strings: string[] = [];
      if (kind === 'regex') strings.push(body.expression);
      if (kind === 'multiline') strings.push(body.firstline);
      if (kind === 'timestamp') strings.push(body.format, ...(body.fallback_formats ?? []));
      for (const s of strings) assert.ok(alloy.includes(s), `${job.job_name}: ${kind} string ${s} appears verbatim in imom.alloy`);
      if (kind === 'labels' || kind === 'structured_metadata') for (const k of Object.keys(body)) assert.match(alloy, new RegExp(`\\b${k} = ""`));
      if (kind === 'json') for (const [k, v] of Object.entries(body.expressions as Record<string, string>)) assert.ok(alloy.includes(`${k} = "${v}"`));
    }
  }
});

test('the same labels and environment variables (with the same defaults) drive both', () => {
  for (const job of cfg.scrape_configs) {
    for (const [k, v] of Object.entries(job.static_configs[0]!.labels)) {
      assert.match(alloy, new RegExp(`\\b${k}\\s+= `), `label ${k} set in imom.alloy`);
      // Promtail: ${VAR:-default}; Alloy: coalesce(sys.env("VAR"), "default")
      for (const m of v.matchAll(/\$\{([A-Z_]+):-([^}]*)\}/g)) {
        if (m[2] === 'localhost') assert.ok(alloy.includes(`sys.env("${m[1]}")`), `${m[1]} used`);
        else assert.ok(alloy.includes(`coalesce(sys.env("${m[1]}"), "${m[2]}")`), `${m[1]} with default ${m[2]}`);
      }
      if (!v.includes('${')) assert.ok(alloy.includes(`"${v}"`), `constant label ${k}="${v}"`);
    }
  }
  for (const m of promtailText.matchAll(/\$\{(LOKI_PUSH_URL|IMOM_TZ):-([^}]*)\}/g)) assert.ok(alloy.includes(`coalesce(sys.env("${m[1]}"), "${m[2]}")`));
});
