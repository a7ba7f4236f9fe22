/**
 * Google Chat incoming webhook: a text message in Chat's markup (*bold*, ```code```, <url|text>).
 *
 * Limits: 32,000 bytes per message, text and cards together
 * (developers.google.com/workspace/chat/create-messages), and Chat has answered 400
 * "Message is longer than 4096 characters" to webhooks (mr-karan/calert#17), so the text is
 * kept within 4096 characters, which is also under 32,000 bytes (at most 3 UTF-8 bytes per
 * UTF-16 character).
 *
 * Escaping: Chat has no escape character for its markup, so alert text gets look-alike
 * characters instead of the ones that would act: < > (mentions such as <users/all>, links
 * <url|text>), * _ ~ ` (bold, italic, strike, code) and [ ] (Markdown links, for apps set to
 * Markdown syntax). Inside code only ` < > act, so lines and LogQL keep their * and _.
 */
import type { TargetConfig } from '../config.js';
import { icon, linesText, title, type Notification } from '../notification.js';
import { fit, oneLine, utf8Bytes } from '../text.js';
import { factLines, linkLeftOut, targetFacts, withLines } from './parts.js';
import { JSON_HEADERS, type MessageShape, type OutgoingRequest } from './types.js';

const MESSAGE_CHARS = 4096;
const MESSAGE_BYTES = 32_000;
/** Caps that leave at least ~600 characters of lines whatever the alert holds: 300 + 6 × 165 + 1500 + 600 + markup. */
const TITLE_CHARS = 300;
const FACT_CHARS = 150;
const LINK_CHARS = 1500;
const LOGQL_CHARS = 600;
const ERROR_CHARS = 300;
const MIN_LINES_CHARS = 100;

const LOOK_ALIKE: Record<string, string> = { '<': '‹', '>': '›', '*': '∗', _: '＿', '~': '∼', '`': 'ˋ', '[': '［', ']': '］' };
/** Alert text in running text: no character of it can open a mention, a link or an emphasis. */
const esc = (s: string) => s.replace(/[<>*_~`[\]]/g, (c) => LOOK_ALIKE[c]!);
/** Alert text inside ``` or `: only a backtick would end the code, and < > still make mentions and links. */
const escCode = (s: string) => s.replace(/[<>`]/g, (c) => LOOK_ALIKE[c]!);

export function formatGoogleChat(n: Notification, t: Extract<TargetConfig, { type: 'google_chat' }>, shape: MessageShape): OutgoingRequest {
  const shown = shape === 'full' ? factLines(n) : targetFacts(n);
  const parts = [`${icon(n)} *${fit(oneLine(title(n)), TITLE_CHARS, { escape: esc })}*`, shown.map(([k, v]) => `*${k}:* ${fit(v, FACT_CHARS, { escape: esc })}`).join('\n')];
  if (shape === 'full') {
    if (!n.lines.length && n.linesError) parts.push(`_${fit(oneLine(`Lines unavailable: ${n.linesError}`), ERROR_CHARS, { escape: esc })}_`);
    if (n.logql) parts.push(`LogQL: \`${fit(oneLine(n.logql), LOGQL_CHARS, { escape: escCode })}\``);
  }
  if (n.exploreUrl) {
    const link = `<${n.exploreUrl}|Open in Grafana Explore>`;
    parts.push(link.length <= LINK_CHARS ? link : `_${esc(linkLeftOut(n.exploreUrl, `${LINK_CHARS} characters`))}_`);
  }
  const FENCE = '```\n\n```'.length;
  const text = withLines(parts, 2, MESSAGE_CHARS, (room) =>
    shape === 'full' && n.lines.length && room - FENCE >= MIN_LINES_CHARS ? `\`\`\`\n${linesText(n, room - FENCE, { escape: escCode })}\n\`\`\`` : undefined);
  if (text.length > MESSAGE_CHARS || utf8Bytes(text) > MESSAGE_BYTES) throw new Error(`google chat message of ${text.length} characters, over ${MESSAGE_CHARS}`);
  // A thread per alert: Chat groups the firing and the resolved message together.
  const url = new URL(t.url);
  url.searchParams.set('messageReplyOption', 'REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD');
  return { url: url.toString(), headers: { ...JSON_HEADERS }, body: JSON.stringify({ text, thread: { threadKey: `imom-${n.fingerprint}-${n.startsAt}` } }) };
}
