// test-file-timeout: 1500
/**
 * The .deb for real: built by `npm run package`, installed with dpkg -i into the real system paths
 * (/usr/lib/imom, /etc/imom, /var/lib/imom, /var/log/imom: no other test uses them), its units
 * verified and scored by systemd-analyze, each unit's ExecStart run as the imom user with the
 * unit's environment against the harness's MariaDB and Redis, the shipped logrotate file run
 * while the agent writes, an upgrade X -> X+1 and the purge.
 *
 * systemd is not PID 1 here: the hardening cannot run, systemctl cannot start units and the
 * maintainer scripts' systemctl calls are skipped (they test for /run/systemd/system). What the
 * sandbox would enforce is checked instead: every path a unit writes lies under its writable roots.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { freePort, run, startDaemon, tempDir, removeDir, waitFor, waitForPort, type Daemon } from '../harness/proc.js';
import { MONITOR_PASSWORD, MONITOR_USER, ReplicationPair } from '../harness/mariadb.js';
import { RedisPair } from '../harness/redis.js';
import { configSchema } from '../../agent/src/app/config-schema.js';
import { relayConfigSchema } from '../../agent/src/relay/config.js';
import { buildPackages, isUnder, unitSettings, UNITS, writableRoots, type Built } from './build.js';

const X = '0.1.0';
const X1 = '0.1.1';
const SYSTEM_UNITS = '/usr/lib/systemd/system';
/** Ceilings on `systemd-analyze security` exposure (0 safest .. 10): measured 1.3, 1.3 and 0.4. */
const EXPOSURE_CEILING: Record<(typeof UNITS)[number], number> = { 'imom-agent.service': 2.0, 'imom-relay.service': 2.0, 'imom-split@.service': 1.0 };
const SPLIT_INSTANCE = 'pay';
const P6SPY_LINE = '1685671200123|0|statement|connection 3|url jdbc:mysql://db:3306/shop|select u.id from users u where u.id=?|select u.id from users u where u.id=15\n';

function installed(): boolean {
  return existsSync('/var/lib/dpkg/info/imom.list');
}

/** Runs ExecStart= of a unit as systemd would: as User=, with Environment= and the directories it sets up. */
function startUnit(unit: string, logFile: string, instance?: string): Daemon {
  const s = unitSettings(join(SYSTEM_UNITS, unit), instance);
  const user = s.get('User')?.[0] ?? 'root';
  const words = (key: string) => (s.get(key) ?? []).flatMap((v) => v.split(/\s+/).filter(Boolean));
  const state = words('StateDirectory').map((d) => `/var/lib/${d}`);
  const logs = words('LogsDirectory').map((d) => `/var/log/${d}`);
  for (const d of [...state, ...logs]) {
    mkdirSync(d, { recursive: true, mode: 0o750 });
    execFileSync('chown', [`${user}:${user}`, d]);
  }
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin',
    HOME: '/var/lib/imom', USER: user, LOGNAME: user, SHELL: '/usr/sbin/nologin',
    STATE_DIRECTORY: state.join(':'), LOGS_DIRECTORY: logs.join(':'),
  };
  for (const e of words('Environment')) {
    const [k, ...v] = e.split('=');
    env[k!] = v.join('=');
  }
  const [cmd, ...args] = s.get('ExecStart')![0]!.split(/\s+/);
  return startDaemon(unit, 'setpriv', [`--reuid=${user}`, `--regid=${user}`, '--init-groups', '--', cmd!, ...args], { env, logFile });
}

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

/** path -> sha256 of every file under dir. */
function fingerprints(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(p, createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out;
}

describe('the .deb on this machine', () => {
  let work: string;
  let scratch: string;
  let built: Built;
  let next: Built;
  let mysql: ReplicationPair;
  let redis: RedisPair;
  let agentConfig: string;

  before(async () => {
    assert.ok(!installed(), 'imom is already installed on this machine: this test installs and purges it');
    work = tempDir('package-deb');
    // Under /tmp, not the clone's .tmp: the units run as imom, which cannot enter a clone whose
    // folder is 0700 (mktemp -d makes it so, and CI's clone folder may be one).
    scratch = mkdtempSync(join(tmpdir(), 'imom-package-deb-scratch-'));
    chmodSync(scratch, 0o755);
    built = await buildPackages(work, X);
    next = await buildPackages(work, X1, { reuseStage: true });
    [mysql, redis] = await Promise.all([ReplicationPair.start(), RedisPair.start()]);
    // Nothing listens there: the Loki output keeps every line in its spool (state the upgrade must keep).
    const deadLoki = await freePort();
    agentConfig = `# edited by the operator
env: test
host: pkg-host
interval: 1s
timeout: 5s
state_dir: /var/lib/imom
outputs:
  file: { path: "/var/log/imom/{check}.log" }
  syslog: { enabled: false }
  loki: { url: "http://127.0.0.1:${deadLoki}" }
checks:
  mysql:
    - name: order-db
      user: ${MONITOR_USER}
      password: "${MONITOR_PASSWORD}"
      master: ${mysql.primary.address}
      slaves: [${mysql.replica.address}]
  redis:
    - name: session
      masters: [${redis.master.address}]
      slaves: [${redis.replica.address}]
`;
  });

  after(async () => {
    if (installed()) await run('dpkg', ['--purge', 'imom'], { allowFail: true });
    await Promise.allSettled([mysql?.stop(), redis?.stop()]);
    removeDir(work);
    removeDir(scratch);
  });

  test('dpkg -i creates the user, the directories and root:imom 0640 config, and starts nothing', async () => {
    await run('dpkg', ['-i', built.deb], { timeoutMs: 300_000 });
    const id = await run('id', ['imom']);
    assert.match(id.stdout, /uid=\d+\(imom\) gid=\d+\(imom\)/);
    for (const [dir, owner] of [['/var/lib/imom', 'imom:imom'], ['/var/log/imom', 'imom:imom'], ['/etc/imom', 'root:imom'], ['/etc/imom/conf.d', 'root:imom'], ['/etc/imom/split', 'root:imom']] as const) {
      const st = (await run('stat', ['-c', '%U:%G %a', dir])).stdout.trim();
      assert.equal(st, `${owner} 750`, dir);
    }
    assert.equal((await run('stat', ['-c', '%U:%G %a', '/etc/imom/imom.yaml'])).stdout.trim(), 'root:imom 640');
    assert.deepEqual(readFileSync('/var/lib/dpkg/info/imom.conffiles', 'utf8').trim().split('\n').sort(), ['/etc/imom/imom.yaml', '/etc/logrotate.d/imom']);
    assert.equal((await run('imom', ['--version'])).stdout.trim(), X);
    // The shipped config is valid and enables nothing that touches a server.
    assert.equal((await run('imom', ['config', 'validate', '/etc/imom/imom.yaml'])).code, 0);
    const shipped = configSchema.parse(parseYaml(readFileSync('/etc/imom/imom.yaml', 'utf8')));
    assert.deepEqual(Object.values(shipped.checks ?? {}).flat(), []);
    const procs = (await run('pgrep', ['-u', 'imom'], { allowFail: true })).stdout.trim();
    assert.equal(procs, '', 'no process runs as imom after the install');
  });

  test('every bundled module and the Node runtime have their licence under /usr/share/doc/imom', () => {
    const index = readFileSync('/usr/share/doc/imom/licenses/INDEX', 'utf8').trim().split('\n').map((l) => l.split('\t')[0]!);
    assert.ok(index.some((id) => /^node@24\./.test(id)), 'the Node runtime');
    const walk = (nm: string): string[] => !existsSync(nm) ? [] : readdirSync(nm).filter((n) => !n.startsWith('.')).flatMap((n) =>
      n.startsWith('@') ? readdirSync(join(nm, n)).map((s) => join(nm, n, s)) : [join(nm, n)]).flatMap((d) => [d, ...walk(join(d, 'node_modules'))]);
    const modules = walk('/usr/lib/imom/node_modules').filter((d) => existsSync(join(d, 'package.json')));
    assert.ok(modules.length > 20, `${modules.length} bundled modules`);
    for (const d of modules) {
      const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (!pkg.name || !pkg.version) continue;
      const id = `${pkg.name}@${pkg.version}`;
      assert.ok(index.includes(id), `${id} in licenses/INDEX`);
      assert.ok(readdirSync(join('/usr/share/doc/imom/licenses', id.replaceAll('/', '+'))).length > 0, `${id}'s licence file`);
    }
    // The native addons load in the bundled runtime (built against its headers, not the machine's node's).
    execFileSync('/usr/lib/imom/node/bin/node', ['-e', "require('unix-dgram'); require('snappy')"], { cwd: '/usr/lib/imom' });
  });

  test('systemd-analyze verify passes every unit and security --offline stays under its ceiling', async () => {
    for (const unit of UNITS) {
      const path = join(SYSTEM_UNITS, unit);
      const v = await run('systemd-analyze', ['verify', '--man=no', path], { allowFail: true });
      assert.equal(v.code, 0, `${unit}: ${v.stderr}`);
      assert.equal(v.stderr.trim(), '', `${unit} verifies without a warning`);
      const sec = await run('systemd-analyze', ['security', '--offline=yes', path], { allowFail: true });
      const score = Number(/Overall exposure level for \S+: (\d+\.\d+)/.exec(sec.stdout)?.[1]);
      assert.ok(score <= EXPOSURE_CEILING[unit], `${unit}: exposure ${score} over ${EXPOSURE_CEILING[unit]}`);
      const s = unitSettings(path, SPLIT_INSTANCE);
      assert.equal(s.get('User')?.[0], 'imom');
      assert.equal(s.get('ProtectSystem')?.[0], 'strict');
      assert.equal(s.get('CapabilityBoundingSet')?.[0], '');
      for (const k of ['NoNewPrivileges', 'ProtectHome', 'PrivateTmp']) assert.equal(s.get(k)?.[0], 'yes', `${unit} ${k}`);
      const reload = s.get('ExecReload') ?? [];
      assert.equal(reload.length, 2, `${unit}: validate, then signal`);
      assert.match(reload[0]!, /^\/usr\/bin\/imom .*(validate|--check-config)/);
      assert.match(reload[1]!, /^\/bin\/kill -\w+ \$MAINPID$/);
    }
  });

  test('every path a unit writes lies under its StateDirectory, LogsDirectory or ReadWritePaths', () => {
    const agentRoots = writableRoots(unitSettings(join(SYSTEM_UNITS, 'imom-agent.service')));
    // The shipped config, and the Loki spool's default were outputs.loki enabled.
    const shipped = parseYaml(readFileSync('/etc/imom/imom.yaml', 'utf8')) as Record<string, unknown>;
    const cfg = configSchema.parse({ ...shipped, outputs: { ...(shipped.outputs as object), loki: { url: 'http://127.0.0.1:3100' } } });
    const agentWrites = [cfg.state_dir, dirname(cfg.outputs.file!.path), cfg.outputs.loki!.spool_dir];
    for (const p of agentWrites) assert.ok(isUnder(p, agentRoots), `agent writes ${p}, outside ${agentRoots.join(' ')}`);

    const splitRoots = writableRoots(unitSettings(join(SYSTEM_UNITS, 'imom-split@.service'), SPLIT_INSTANCE));
    const split = parseYaml(readFileSync('/usr/share/doc/imom/examples/split.yaml', 'utf8')) as { console: string; query: string; state_dir: string };
    for (const p of [split.console, split.query, split.state_dir]) assert.ok(isUnder(p, splitRoots), `imom-split@${SPLIT_INSTANCE} writes ${p}, outside ${splitRoots.join(' ')}`);

    const relayRoots = writableRoots(unitSettings(join(SYSTEM_UNITS, 'imom-relay.service')));
    const relayExample = parseYaml(readFileSync('/usr/share/doc/imom/examples/relay.yaml', 'utf8')) as Record<string, unknown>;
    const { state_dir: relayDefault } = relayConfigSchema.parse({ ...relayExample, state_dir: undefined });
    for (const p of [relayExample.state_dir as string, relayDefault]) assert.ok(isUnder(p, relayRoots), `relay writes ${p}, outside ${relayRoots.join(' ')}`);
  });

  test('imom-split@pay and imom-relay run as imom from their unit lines', async () => {
    const app = join(scratch, 'app');
    mkdirSync(app, { recursive: true });
    const input = join(app, 'console.log');
    writeFileSync(input, P6SPY_LINE);
    await run('chmod', ['-R', 'a+rX', scratch]);
    const example = readFileSync('/usr/share/doc/imom/examples/split.yaml', 'utf8');
    writeFileSync(`/etc/imom/split/${SPLIT_INSTANCE}.yaml`, example.replace(/^input: .*$/m, `input: ${input}`));
    const reload = unitSettings(join(SYSTEM_UNITS, 'imom-split@.service'), SPLIT_INSTANCE).get('ExecReload')![0]!.split(/\s+/);
    assert.equal((await run('setpriv', ['--reuid=imom', '--regid=imom', '--init-groups', '--', ...reload])).code, 0);
    const split = startUnit('imom-split@.service', join(scratch, 'split.out'), SPLIT_INSTANCE);
    try {
      const out = `/var/log/imom/split/${SPLIT_INSTANCE}`;
      await waitFor(() => lines(join(out, 'console.log')).some((l) => l.includes('"QHash":"')), 60_000, 'the splitter\'s console line');
      appendFileSync(input, P6SPY_LINE.replace('1685671200123', '1685671200999'));
      await waitFor(() => lines(join(out, 'console.log')).length === 2, 60_000, 'the second console line');
      assert.equal(lines(join(out, 'query.log')).length, 1, 'one shape, once in the query log');
      assert.ok(existsSync(`/var/lib/imom/split/${SPLIT_INSTANCE}`), 'its state');
    } finally {
      await split.stop();
    }

    const port = await freePort();
    writeFileSync('/etc/imom/relay.token', 'relay-token-of-the-package-test\n');
    writeFileSync('/etc/imom/relay.yaml', readFileSync('/usr/share/doc/imom/examples/relay.yaml', 'utf8').replace(/^listen: .*$/m, `listen: 127.0.0.1:${port}`));
    await run('sh', ['-c', 'chown root:imom /etc/imom/relay.* && chmod 0640 /etc/imom/relay.*']);
    const relay = startUnit('imom-relay.service', join(scratch, 'relay.out'));
    try {
      await waitForPort(port, 60_000, 'the relay');
      await waitFor(() => readFileSync(relay.logFile, 'utf8').includes('INFO imom relay: listening on'), 30_000, 'the relay\'s start line');
    } finally {
      await relay.stop();
    }
  });

  test('imom-agent runs as imom against MariaDB and Redis; logrotate -f while it writes puts every line in exactly one file', async () => {
    writeFileSync('/etc/imom/imom.yaml', agentConfig);
    const validate = unitSettings(join(SYSTEM_UNITS, 'imom-agent.service')).get('ExecReload')![0]!.split(/\s+/);
    assert.equal((await run('setpriv', ['--reuid=imom', '--regid=imom', '--init-groups', '--', ...validate])).code, 0);
    const agent = startUnit('imom-agent.service', join(scratch, 'agent.out'));
    let stopped = false;
    try {
      await waitFor(() => lines('/var/log/imom/mysql.log').some((l) => l.includes(mysql.replica.address)) && lines('/var/log/imom/redis.log').length >= 2, 60_000, 'mysql and redis lines');
      assert.ok(lines('/var/log/imom/mysql.log').every((l) => !l.includes(MONITOR_PASSWORD)));

      // The shipped rotation, with its systemctl signal delivered to the agent's pid instead.
      const shipped = readFileSync('/etc/logrotate.d/imom', 'utf8');
      const signal = 'systemctl kill --kill-whom=main --signal=SIGUSR1 imom-agent.service';
      assert.ok(shipped.includes(signal), 'the shipped postrotate sends SIGUSR1 through systemd');
      const conf = join(scratch, 'logrotate.conf');
      writeFileSync(conf, shipped.replace(signal, `kill -USR1 ${agent.pid}`));
      await run('logrotate', ['-f', '-s', join(scratch, 'logrotate.state'), conf]);
      assert.ok(existsSync('/var/log/imom/redis.log.1'), 'renamed');
      // The first line in a new file shows the agent reopened; after that the old file stays as it is.
      await waitFor(() => lines('/var/log/imom/redis.log').length >= 1, 60_000, 'a line in the new redis.log');
      const rotatedSize = statSync('/var/log/imom/redis.log.1').size;
      const have = lines('/var/log/imom/redis.log').length;
      await waitFor(() => lines('/var/log/imom/redis.log').length >= have + 3, 60_000, 'more lines after the rotation');
      assert.equal((await run('stat', ['-c', '%U:%G %a', '/var/log/imom/redis.log'])).stdout.trim(), 'imom:imom 640');
      await agent.stop(30_000);
      stopped = true;
      assert.equal(statSync('/var/log/imom/redis.log.1').size, rotatedSize, 'nothing written to the renamed file after the agent reopened');
      const written = Number(/agent stopped: (\d+) lines written/.exec(readFileSync(agent.logFile, 'utf8'))?.[1]);
      const inFiles = ['mysql.log', 'mysql.log.1', 'redis.log', 'redis.log.1'].reduce((n, f) => n + lines(join('/var/log/imom', f)).length, 0);
      assert.equal(inFiles, written, 'every line the agent wrote is in exactly one file');
    } finally {
      if (!stopped) await agent.stop(30_000);
    }
  });

  test(`upgrade ${X} -> ${X1} keeps the edited conffile, the spool and the state; remove keeps them; purge deletes what it created`, async () => {
    const state = fingerprints('/var/lib/imom');
    assert.ok([...state.keys()].some((p) => p.startsWith('/var/lib/imom/loki-spool/')), 'the agent left a spool (Loki was down)');
    await run('dpkg', ['-i', next.deb], { timeoutMs: 300_000 });
    assert.equal((await run('imom', ['--version'])).stdout.trim(), X1);
    assert.equal(readFileSync('/etc/imom/imom.yaml', 'utf8'), agentConfig, 'the edited conffile');
    assert.deepEqual(fingerprints('/var/lib/imom'), state, 'spool and state, byte for byte');
    assert.ok(existsSync(`/etc/imom/split/${SPLIT_INSTANCE}.yaml`) && existsSync('/etc/imom/relay.yaml'), 'the operator\'s files');
    assert.equal((await run('pgrep', ['-u', 'imom'], { allowFail: true })).stdout.trim(), '', 'the upgrade started nothing');

    await run('dpkg', ['-r', 'imom']);
    assert.ok(!existsSync('/usr/lib/imom/node/bin/node') && !existsSync('/usr/bin/imom'));
    assert.equal(readFileSync('/etc/imom/imom.yaml', 'utf8'), agentConfig, 'remove keeps the config');
    assert.deepEqual(fingerprints('/var/lib/imom'), state, 'remove keeps spool and state');
    assert.ok(lines('/var/log/imom/redis.log.1').length > 0, 'remove keeps the logs');
    assert.equal((await run('id', ['imom'], { allowFail: true })).code, 0, 'remove keeps the user');

    await run('dpkg', ['--purge', 'imom']);
    for (const p of ['/etc/imom', '/var/lib/imom', '/var/log/imom', '/usr/lib/imom', '/etc/logrotate.d/imom', '/usr/lib/systemd/system/imom-agent.service']) assert.ok(!existsSync(p), `${p} after purge`);
    assert.notEqual((await run('id', ['imom'], { allowFail: true })).code, 0, 'purge deletes the user');
    assert.notEqual((await run('getent', ['group', 'imom'], { allowFail: true })).code, 0, 'and its group');
    assert.ok(!installed());
  });
});

