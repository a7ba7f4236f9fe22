/**
 * The provisioning files load as Grafana would read them: expanded the way its docs define
 * (./grafana-env.ts), nothing comes out empty, one datasource uid that every reference uses,
 * and the dashboards are what scripts/grafana-dashboards.ts generates. No Grafana server runs
 * here (none can be built on these machines, see grafana/README.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../harness/proc.js';
import { expandFile, expandValue, referencedNames } from './grafana-env.js';
import { DASHBOARDS_DIR, provisionedLokiUid, renderDashboards } from '../../scripts/grafana-dashboards.js';
import { relayConfigSchema } from '../../agent/src/relay/config.js';

const PROVISIONING = join(REPO_ROOT, 'grafana/provisioning');
const files = readdirSync(PROVISIONING, { recursive: true, encoding: 'utf8' }).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(PROVISIONING, f));
/** What grafana/README.md tells the operator to set for grafana-server. */
const DOCUMENTED_ENV = { LOKI_URL: 'http://127.0.0.1:3100', IMOM_DASHBOARDS: join(REPO_ROOT, 'grafana/dashboards') };

test('the expansion follows the documented syntax, and the old ${VAR:-default} comes out empty', () => {
  const env = { LOKI_URL: 'http://loki:3100', PORT: '3100' };
  assert.equal(expandValue('$LOKI_URL', env), 'http://loki:3100');
  assert.equal(expandValue('http://localhost:${PORT}/x', env), 'http://localhost:3100/x');
  assert.equal(expandValue('{job="$${__value.raw}"}', env), '{job="${__value.raw}"}');
  assert.equal(expandValue('${LOKI_URL:-http://127.0.0.1:3100}', env), '', 'Grafana looks up "LOKI_URL:-http://…" as one name');
  assert.equal(expandValue('$UNSET', env), '');
});

test('every provisioning value is non-empty once the documented variables are set, and uses only $VAR or ${VAR}', () => {
  assert.ok(files.length >= 2, `provisioning files: ${files.join(', ')}`);
  const referenced = new Set<string>();
  for (const file of files) {
    for (const leaf of expandFile(readFileSync(file, 'utf8'), DOCUMENTED_ENV)) {
      const where = `${file.slice(REPO_ROOT.length + 1)}: ${leaf.path} = ${JSON.stringify(leaf.raw)}`;
      for (const name of referencedNames(leaf.raw)) {
        assert.match(name, /^[A-Za-z_][A-Za-z0-9_]*$/, `${where}: "${name}" is not a variable name Grafana expands`);
        referenced.add(name);
      }
      assert.notEqual(leaf.value.trim(), '', `${where} comes out empty`);
    }
  }
  assert.deepEqual([...referenced].sort(), Object.keys(DOCUMENTED_ENV).sort(), 'the files use exactly the variables grafana/README.md documents');
  const readme = readFileSync(join(REPO_ROOT, 'grafana/README.md'), 'utf8');
  for (const name of referenced) assert.ok(readme.includes(`\`${name}\``), `grafana/README.md documents ${name}`);
});

test('the datasource uid is written once; the derived field, the dashboards and the relay default use it', () => {
  const uid = provisionedLokiUid();
  const text = readFileSync(join(PROVISIONING, 'datasources/loki.yaml'), 'utf8');
  assert.equal(text.split(uid).length - 1, 1, `"${uid}" appears once in the datasource file`);
  const ds = (parse(text) as { datasources: { uid: string; jsonData: { derivedFields: { datasourceUid: string }[] } }[] }).datasources[0]!;
  assert.deepEqual(ds.jsonData.derivedFields.map((f) => f.datasourceUid), [uid]);
  const relay = relayConfigSchema.parse({ token: 'x'.repeat(16), loki: { url: 'http://127.0.0.1:3100' }, grafana: { url: 'http://127.0.0.1:3000' }, targets: [{ type: 'webhook', name: 'w', url: 'http://127.0.0.1:1/' }] });
  assert.equal(relay.grafana?.datasource_uid, uid, 'the relay links Explore to the provisioned datasource by default');
  const example = parse(readFileSync(join(REPO_ROOT, 'ruler/relay.example.yaml'), 'utf8')) as { grafana?: { datasource_uid?: string } };
  assert.equal(example.grafana?.datasource_uid ?? uid, uid, 'ruler/relay.example.yaml');
  for (const [name, json] of renderDashboards()) {
    const uids = new Set([...json.matchAll(/"uid": "([^"]+)"/g)].map((m) => m[1]));
    uids.delete('imom-overview');
    assert.deepEqual([...uids], [uid], `${name}: every datasource reference`);
  }
});

test('grafana/dashboards/ is exactly what `npm run grafana:build` generates', () => {
  const generated = renderDashboards();
  assert.deepEqual(readdirSync(DASHBOARDS_DIR).sort(), [...generated.keys()].sort(), 'no dashboard file without its generator');
  for (const [name, json] of generated) {
    assert.equal(readFileSync(join(DASHBOARDS_DIR, name), 'utf8'), json, `${name} differs from the generator: run npm run grafana:build`);
  }
});
