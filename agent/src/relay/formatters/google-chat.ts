/** Google Chat incoming webhook: a text message in Chat's markup (*bold*, ```code```, <url|text>). */
import type { TargetConfig } from '../config.js';
import { facts, icon, linesText, title, type Notification } from '../notification.js';
import { JSON_HEADERS, type OutgoingRequest } from './types.js';

export function formatGoogleChat(n: Notification, t: Extract<TargetConfig, { type: 'google_chat' }>): OutgoingRequest {
  const parts = [`${icon(n)} *${title(n)}*`, facts(n).map(([k, v]) => `*${k}:* ${v}`).join('\n')];
  if (n.lines.length) parts.push(`\`\`\`\n${linesText(n, 3500)}\n\`\`\``);
  else if (n.linesError) parts.push(`_Lines unavailable: ${n.linesError}_`);
  if (n.logql) parts.push(`LogQL: \`${n.logql}\``);
  if (n.exploreUrl) parts.push(`<${n.exploreUrl}|Open in Grafana Explore>`);
  // A thread per alert: Chat groups the firing and the resolved message together.
  const url = new URL(t.url);
  url.searchParams.set('messageReplyOption', 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD');
  return { url: url.toString(), headers: { ...JSON_HEADERS }, body: JSON.stringify({ text: parts.join('\n\n'), thread: { threadKey: `imom-${n.fingerprint}-${n.startsAt}` } }) };
}
