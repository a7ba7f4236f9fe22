/**
 * Telegram Bot API sendMessage, HTML parse mode. The bot token is part of the URL: never log it.
 * Limit (core.telegram.org/bots/api#sendmessage): text of 1-4096 characters after entity
 * parsing. The HTML sent is kept within 4096 characters, which bounds the parsed text (tags
 * and entities only shrink it).
 */
import type { TargetConfig } from '../config.js';
import { icon, linesText, title, type Notification } from '../notification.js';
import { fit, oneLine } from '../text.js';
import { factLines, linkLeftOut, targetFacts, withLines } from './parts.js';
import { JSON_HEADERS, type MessageShape, type OutgoingRequest } from './types.js';

const MESSAGE_CHARS = 4096;
/** Caps that leave at least ~600 characters of lines whatever the alert holds: 256 + 6 × 140 + 1800 + 500 + tags. */
const TITLE_CHARS = 256;
const FACT_CHARS = 120;
const LINK_CHARS = 1800;
const LOGQL_CHARS = 500;
const ERROR_CHARS = 300;
/** Fewer characters than this left for lines: leave the block out rather than show a stub. */
const MIN_LINES_CHARS = 100;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fitEsc = (s: string, max: number) => fit(s, max, { escape: esc });

export function formatTelegram(n: Notification, t: Extract<TargetConfig, { type: 'telegram' }>, shape: MessageShape): OutgoingRequest {
  const shown = shape === 'full' ? factLines(n) : targetFacts(n);
  const parts = [`${icon(n)} <b>${fitEsc(oneLine(title(n)), TITLE_CHARS)}</b>`, shown.map(([k, v]) => `<b>${esc(k)}:</b> ${fitEsc(v, FACT_CHARS)}`).join('\n')];
  if (n.exploreUrl) {
    const a = `<a href="${esc(n.exploreUrl)}">Open in Grafana Explore</a>`;
    parts.push(a.length <= LINK_CHARS ? a : `<i>${esc(linkLeftOut(n.exploreUrl, `${LINK_CHARS} characters`))}</i>`);
  }
  if (shape === 'full' && n.logql) parts.push(`LogQL: <code>${fitEsc(oneLine(n.logql), LOGQL_CHARS)}</code>`);
  if (shape === 'full' && !n.lines.length && n.linesError) parts.push(`<i>${fitEsc(oneLine(`Lines unavailable: ${n.linesError}`), ERROR_CHARS)}</i>`);
  const PRE = '<pre></pre>'.length;
  const text = withLines(parts, 2, MESSAGE_CHARS, (room) =>
    shape === 'full' && n.lines.length && room - PRE >= MIN_LINES_CHARS ? `<pre>${linesText(n, room - PRE, { escape: esc })}</pre>` : undefined);
  if (text.length > MESSAGE_CHARS) throw new Error(`telegram message of ${text.length} characters, over ${MESSAGE_CHARS}`);
  const body = { chat_id: t.chat_id, text, parse_mode: 'HTML', link_preview_options: { is_disabled: true } };
  return { url: `${t.api_url.replace(/\/+$/, '')}/bot${t.bot_token}/sendMessage`, headers: { ...JSON_HEADERS }, body: JSON.stringify(body) };
}
