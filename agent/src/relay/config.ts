/** `imom relay` config (YAML, snake_case), validated with zod; see ruler/README.md. */
import { z } from 'zod';
import { caFile, certFile, keyFile, tlsFields, tlsPairRule, tlsSchema } from '../config/tls.js';
import { duration, hostPort, secret } from '../config/types.js';

const severityList = z.array(z.string().min(1)).optional().meta({ description: 'Only alerts with one of these severities (default: all)' });

const targetCommon = {
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "." and "-" only'),
  severities: severityList,
  send_resolved: z.boolean().default(true),
  timeout: duration.prefault('10s'),
  tls: tlsSchema.optional().meta({ description: 'For an https:// chat URL: CA, client certificate, server_name (as Promtail\'s tls_config)' }),
};

const httpsUrl = z.url({ protocol: /^https?$/ });

/**
 * The HTTPS listener: the relay's certificate and key (required here), and client_ca_file, the
 * CA whose client certificates may connect; each file checked as in every `tls:` block.
 */
const listenTlsSchema = z
  .object({
    cert_file: certFile().meta({ description: 'PEM certificate of the relay (SANs: the names Alertmanager dials)' }),
    key_file: keyFile(),
    client_ca_file: caFile('client_ca_file').optional().meta({ description: 'Require a client certificate signed by this CA (Alertmanager\'s http_config.tls_config cert_file)' }),
    min_version: tlsFields.min_version,
    expiry_warning: tlsFields.expiry_warning,
  })
  .strict()
  .superRefine(tlsPairRule);

export const targetSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('slack'), url: secret.pipe(httpsUrl).meta({ description: 'Slack incoming-webhook URL (a secret)' }), ...targetCommon }).strict(),
  z.object({ type: z.literal('teams'), url: secret.pipe(httpsUrl).meta({ description: 'Teams workflow ("When a Teams webhook request is received") URL' }), ...targetCommon }).strict(),
  z.object({ type: z.literal('google_chat'), url: secret.pipe(httpsUrl).meta({ description: 'Google Chat space webhook URL (carries key and token)' }), ...targetCommon }).strict(),
  z
    .object({
      type: z.literal('telegram'),
      bot_token: secret.min(1),
      chat_id: z.union([z.string().min(1), z.number().int()]).transform(String),
      api_url: httpsUrl.default('https://api.telegram.org'),
      ...targetCommon,
    })
    .strict(),
  z
    .object({
      type: z.literal('webhook'),
      url: secret.pipe(httpsUrl),
      headers: z.record(z.string(), secret).default({}),
      ...targetCommon,
    })
    .strict(),
]);

export type TargetConfig = z.output<typeof targetSchema>;

export const relayConfigSchema = z
  .object({
    listen: hostPort.prefault('127.0.0.1:9097'),
    listen_tls: listenTlsSchema.optional().meta({ description: 'Listen on HTTPS: the relay\'s certificate, and client_ca_file to require Alertmanager\'s client certificate (its http_config.tls_config cert_file)' }),
    token: secret.min(16, 'at least 16 characters').optional().meta({ description: 'Bearer token Alertmanager must send' }),
    token_file: z.string().min(1).optional().meta({ description: 'File holding the bearer token (Alertmanager reads the same file via credentials_file)' }),
    state_dir: z.string().min(1).default('/var/lib/imom/relay').meta({ description: 'Queue, delivered keys and dead letters' }),
    dedupe_retention: duration.prefault('168h'),
    loki: z
      .object({
        url: httpsUrl,
        tenant: z.string().min(1).optional(),
        bearer_token: secret.optional(),
        basic_auth: z.object({ username: z.string(), password: secret }).strict().optional(),
        lines: z.number().int().min(1).max(100).default(10),
        lookback: duration.prefault('15m'),
        timeout: duration.prefault('5s'),
        tls: tlsSchema.optional().meta({ description: 'For an https:// Loki: CA, client certificate, server_name (as Promtail\'s tls_config)' }),
        narrow_labels: z.array(z.string().min(1)).default(['env', 'host', 'check']).meta({ description: 'Alert labels added to the logql selector when the alert has no logql_narrow annotation' }),
      })
      .strict(),
    grafana: z
      .object({
        url: httpsUrl,
        datasource_uid: z.string().min(1).default('imom-loki'),
        org_id: z.number().int().min(1).default(1),
      })
      .strict()
      .optional(),
    retry: z
      .object({
        initial: duration.prefault('1s'),
        max: duration.prefault('60s'),
        max_age: duration.prefault('24h').meta({ description: 'A notification still failing after this goes to the dead-letter file' }),
      })
      .strict()
      .prefault({}),
    heartbeat: z
      .object({
        url: secret.pipe(httpsUrl).meta({ description: 'Dead-man-switch URL pinged (GET) while Watchdog notifications arrive (a secret: such URLs carry a key)' }),
        every: duration.prefault('1m').meta({ description: 'How often to ping' }),
        max_age: duration.prefault('3m').meta({ description: 'Ping only if a Watchdog notification arrived within this (Alertmanager repeats it every 1m: 3 missed repeats)' }),
        timeout: duration.prefault('10s'),
        tls: tlsSchema.optional().meta({ description: 'For an https:// heartbeat URL: CA, client certificate, server_name (as Promtail\'s tls_config)' }),
      })
      .strict()
      .optional()
      .meta({ description: 'Watchdog → dead-man switch: POST /heartbeat receives the Watchdog, the relay pings url' }),
    hold_resolved: z
      .object({
        enabled: z.boolean().default(true),
        silent_alert: z.string().min(1).default('AgentSilent').meta({ description: 'The alert saying a host sends nothing (ruler/rules/fake/imom.yaml)' }),
        silent_max_age: duration.prefault('3h').meta({ description: 'A silent alert not received again for this long has ended: what it held is posted (Alertmanager repeats a critical alert every 1h)' }),
      })
      .strict()
      .prefault({})
      .meta({ description: 'While the silent alert fires for a host, a RESOLVED of that host\'s check alerts (alerts with a target label) is held in state_dir/hold.json, and posted when the host reports again unless the alert fired again meanwhile' }),
    targets: z.array(targetSchema).min(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    if ((c.token === undefined) === (c.token_file === undefined)) ctx.addIssue({ code: 'custom', path: ['token'], message: 'set exactly one of token or token_file' });
    const seen = new Set<string>();
    c.targets.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'name'], message: `duplicate target name "${t.name}"` });
      seen.add(t.name);
    });
    if (c.loki.bearer_token && c.loki.basic_auth) ctx.addIssue({ code: 'custom', path: ['loki', 'bearer_token'], message: 'set at most one of bearer_token or basic_auth' });
  });

export type RelayConfig = z.output<typeof relayConfigSchema>;

/** Every secret in the config, to scrub from errors and lines. */
export function secretsOf(c: RelayConfig, token: string): string[] {
  const out = [token, c.loki.bearer_token, c.loki.basic_auth?.password, c.heartbeat?.url];
  for (const t of c.targets) {
    if (t.type === 'telegram') out.push(t.bot_token);
    else out.push(t.url);
    if (t.type === 'webhook') out.push(...Object.values(t.headers));
  }
  return out.filter((s): s is string => typeof s === 'string' && s.length >= 6);
}
