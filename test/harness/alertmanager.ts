/**
 * The real Alertmanager (Debian's prometheus-alertmanager) for tests, configured with the
 * repo's ruler/alertmanager.yml rendered for a given relay URL and token file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderAlertmanagerConfig, type AmTlsConfig } from '../../agent/src/relay/amconfig.js';
import { alertmanagerSpec } from '../../agent/src/stack/components.js';
import { freePort, REPO_ROOT, startDaemon, tempDir, removeDir, waitFor, type Daemon } from './proc.js';

export interface AmAlertInput {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface AlertmanagerHandle {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly configFile: string;
  /** POST /api/v2/alerts, as the Loki ruler does. */
  postAlerts(alerts: AmAlertInput[]): Promise<void>;
  /** GET /api/v2/alerts. */
  alerts(): Promise<{ labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }[]>;
  stop(): Promise<void>;
  /** kill -9, as a crashed Alertmanager; its folder is left for stop(). */
  kill(): Promise<void>;
}

/** Gossip on loopback: this member's port and the ports of the members it joins. */
export interface AmClusterOptions {
  readonly listenPort: number;
  readonly peerPorts: readonly number[];
}

export async function startAlertmanager(o: {
  relayUrl: string; tokenFile: string; configFile?: string;
  /** Another Alertmanager build (e.g. .cache/bin/alertmanager-0.35) instead of the stack's. */
  binary?: string;
  /** Join a gossip cluster instead of running alone. */
  cluster?: AmClusterOptions;
  /** The relay receivers' http_config.tls_config, for an https:// relayUrl. */
  tls?: AmTlsConfig;
  /** This port (a stopped one's, to bring it back where the ruler sends) instead of a free one. */
  port?: number;
}): Promise<AlertmanagerHandle> {
  const dir = tempDir('alertmanager');
  const port = o.port ?? (await freePort());
  const configFile = join(dir, 'alertmanager.yml');
  const template = readFileSync(o.configFile ?? join(REPO_ROOT, 'ruler', 'alertmanager.yml'), 'utf8');
  writeFileSync(configFile, renderAlertmanagerConfig(template, { relayUrl: o.relayUrl, tokenFile: o.tokenFile, ...(o.tls ? { tls: o.tls } : {}) }));
  // The stack's command line (binary from $IMOM_ALERTMANAGER_BIN, .cache/bin or PATH), with debug logs.
  const spec = alertmanagerSpec({ dataDir: join(dir, 'data'), port, configFile, extraArgs: ['--log.level=debug'], logFile: join(dir, 'alertmanager.log') });
  // kingpin refuses a repeated flag, so the stack's "no gossip" flag is swapped, not overridden.
  const args = o.cluster ? [...spec.args.filter((a) => !a.startsWith('--cluster.listen-address=')), ...clusterArgs(o.cluster)] : spec.args;
  const d: Daemon = startDaemon('alertmanager', o.binary ?? spec.cmd, args, { cwd: dir, logFile: spec.logFile });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/-/ready`)).ok, 30_000, 'alertmanager ready', 200).catch((e: Error) => {
    throw new Error(`${e.message}\n${readFileSync(d.logFile, 'utf8').slice(-2000)}`);
  });
  return {
    url, port, dir, configFile,
    async postAlerts(alerts) {
      const res = await fetch(`${url}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(alerts) });
      if (!res.ok) throw new Error(`alertmanager: POST /api/v2/alerts: ${res.status} ${await res.text()}`);
    },
    async alerts() {
      const res = await fetch(`${url}/api/v2/alerts`);
      return (await res.json()) as { labels: Record<string, string>; status: { state: string; inhibitedBy: string[] } }[];
    },
    async stop() {
      await d.stop();
      removeDir(dir);
    },
    async kill() {
      await d.kill();
    },
  };
}

function clusterArgs(c: AmClusterOptions): string[] {
  return [
    `--cluster.listen-address=127.0.0.1:${c.listenPort}`,
    // Explicit: without it Alertmanager looks for a private IP to advertise, and loopback is none.
    `--cluster.advertise-address=127.0.0.1:${c.listenPort}`,
    ...c.peerPorts.map((p) => `--cluster.peer=127.0.0.1:${p}`),
  ];
}
