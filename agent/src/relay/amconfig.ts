/**
 * Renders ruler/alertmanager.yml for one deployment: Alertmanager 0.25 cannot expand
 * environment variables, so `imom stack` (or an operator's deploy step) sets the relay
 * receiver's webhook URL and bearer-token file here, and, for a relay listening on HTTPS, the
 * receiver's `http_config.tls_config`. Comments and everything else stay.
 */
import { isMap, isSeq, parseDocument } from 'yaml';

export interface RelayEndpoint {
  /** e.g. http://127.0.0.1:9097/alertmanager */
  relayUrl: string;
  /** File holding the relay's bearer token (Alertmanager reads it on every request). */
  tokenFile: string;
  /** Receiver to edit; default "relay". */
  receiver?: string;
  /** For an https:// relayUrl: Alertmanager's http_config.tls_config (Prometheus' keys). */
  tls?: AmTlsConfig;
}

/** Alertmanager's (Prometheus common) tls_config, as written in its YAML. */
export interface AmTlsConfig {
  /** CA that signed the relay's certificate. */
  ca_file?: string;
  /** Alertmanager's client certificate, for a relay with client_ca_file. */
  cert_file?: string;
  key_file?: string;
  server_name?: string;
  insecure_skip_verify?: boolean;
  /** TLS10..TLS13. */
  min_version?: string;
  max_version?: string;
}

export function renderAlertmanagerConfig(text: string, o: RelayEndpoint): string {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error(`alertmanager config: ${doc.errors[0]!.message}`);
  const receivers = doc.get('receivers', true);
  if (!isSeq(receivers)) throw new Error('alertmanager config: no receivers list');
  const name = o.receiver ?? 'relay';
  const idx = receivers.items.findIndex((r) => isMap(r) && r.get('name') === name);
  if (idx < 0) throw new Error(`alertmanager config: no receiver named "${name}"`);
  const point = (at: number, url: string) => {
    doc.setIn(['receivers', at, 'webhook_configs', 0, 'url'], url);
    doc.setIn(['receivers', at, 'webhook_configs', 0, 'http_config', 'authorization', 'type'], 'Bearer');
    doc.setIn(['receivers', at, 'webhook_configs', 0, 'http_config', 'authorization', 'credentials_file'], o.tokenFile);
    if (o.tls) doc.setIn(['receivers', at, 'webhook_configs', 0, 'http_config', 'tls_config'], doc.createNode(o.tls));
  };
  point(idx, o.relayUrl);
  // The Watchdog's receiver, when the file has one, goes to the same relay's /heartbeat.
  const hb = receivers.items.findIndex((r) => isMap(r) && r.get('name') === 'heartbeat');
  if (hb >= 0 && name === 'relay') point(hb, new URL('/heartbeat', o.relayUrl).toString());
  return doc.toString();
}
