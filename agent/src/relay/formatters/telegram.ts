/** Telegram Bot API sendMessage, HTML parse mode. The bot token is part of the URL: never log it. */
import type { TargetConfig } from '../config.js';
import { facts, icon, linesText, title, type Notification } from '../notification.js';
import { JSON_HEADERS, type OutgoingRequest } from './types.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function formatTelegram(n: Notification, t: Extract<TargetConfig, { type: 'telegram' }>): OutgoingRequest {
  const parts = [`${icon(n)} <b>${esc(title(n))}</b>`, facts(n).map(([k, v]) => `<b>${esc(k)}:</b> ${esc(v)}`).join('\n')];
  if (n.exploreUrl) parts.push(`<a href="${esc(n.exploreUrl)}">Open in Grafana Explore</a>`);
  if (n.logql) parts.push(`LogQL: <code>${esc(n.logql)}</code>`);
  // 4096 characters per message, after entity parsing; leave room for the rest.
  const used = parts.join('\n\n').length;
  if (n.lines.length) parts.splice(2, 0, `<pre>${esc(linesText(n, Math.max(200, 3800 - used)))}</pre>`);
  else if (n.linesError) parts.push(`<i>Lines unavailable: ${esc(n.linesError)}</i>`);
  const body = { chat_id: t.chat_id, text: parts.join('\n\n'), parse_mode: 'HTML', link_preview_options: { is_disabled: true } };
  return { url: `${t.api_url.replace(/\/+$/, '')}/bot${t.bot_token}/sendMessage`, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}
