/** Slack incoming webhook: Block Kit message with a plain-text fallback. */
import type { TargetConfig } from '../config.js';
import { facts, icon, linesText, title, type Notification } from '../notification.js';
import { JSON_HEADERS, type OutgoingRequest } from './types.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function formatSlack(n: Notification, t: Extract<TargetConfig, { type: 'slack' }>): OutgoingRequest {
  const head = `${icon(n)} ${title(n)}`;
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: head.slice(0, 150), emoji: true } },
    { type: 'section', fields: facts(n).map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}*\n${esc(v)}` })) },
  ];
  if (n.lines.length) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `\`\`\`${esc(linesText(n, 2800))}\`\`\`` } });
  else if (n.linesError) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: esc(`Lines unavailable: ${n.linesError}`) }] });
  if (n.logql) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `LogQL: \`${esc(n.logql).slice(0, 2900)}\`` }] });
  if (n.exploreUrl) {
    if (n.exploreUrl.length <= 3000) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Grafana Explore' }, url: n.exploreUrl }] });
    else blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `<${n.exploreUrl}|Open in Grafana Explore>` } });
  }
  const fallback = `${head}\n${facts(n).map(([k, v]) => `${k}: ${v}`).join(', ')}${n.lines.length ? `\n${linesText(n, 3000)}` : ''}${n.exploreUrl ? `\n${n.exploreUrl}` : ''}`;
  return { url: t.url, headers: { ...JSON_HEADERS }, body: JSON.stringify({ text: esc(fallback), blocks }) };
}
