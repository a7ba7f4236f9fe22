/**
 * Microsoft Teams workflow webhook ("When a Teams webhook request is received" →
 * "Post card in a chat or channel"): a message whose attachment is an Adaptive Card 1.4.
 *
 * Limit: about 28 KB per message (learn.microsoft.com/connectors/teams, "Message size limit";
 * the incoming-webhook page says 28 KB too), and the msteams_hermes gem measured 21 KB in
 * practice, so the whole JSON body is kept within 20,000 bytes.
 *
 * Escaping: Markdown is parsed in TextBlock and in Fact title and value (learn.microsoft.com
 * "Format cards in Teams"), while a TextRun's text is never Markdown
 * (adaptive-cards/schema-explorer/text-run). So every text that comes from the alert is a
 * TextRun in a RichTextBlock (RichTextBlock is card version 1.2): `[a](https://x)`, `**b**`
 * and `_i_` show as written. Teams has no markup mentions: an <at> needs msteams.entities.
 */
import type { TargetConfig } from '../config.js';
import { linesText, type Notification } from '../notification.js';
import { fit, oneLine, utf8Bytes } from '../text.js';
import { factLines, headline, linkLeftOut, targetFacts } from './parts.js';
import { JSON_HEADERS, type MessageShape, type OutgoingRequest } from './types.js';

const MESSAGE_BYTES = 20_000;
/** Caps, in characters of at most 3 bytes: 300 + 6 × 200 + 1000 + a 6000-byte link leave at least 5 KB of lines. */
const TITLE_CHARS = 300;
const FACT_CHARS = 200;
const LOGQL_CHARS = 1000;
const ERROR_CHARS = 300;
const URL_CHARS = 6000;
/** As many characters of lines as before the byte budget existed. */
const LINES_CHARS = 8000;
const MIN_LINES_BYTES = 200;

/** Bytes a string takes inside the JSON body. */
const jsonBytes = (s: string) => utf8Bytes(JSON.stringify(s)) - 2;

type TextRun = { type: 'TextRun'; text: string } & Record<string, unknown>;
const run = (text: string, style: Record<string, unknown> = {}): TextRun => ({ type: 'TextRun', text, ...style });
const block = (inlines: TextRun[], extra: Record<string, unknown> = {}) => ({ type: 'RichTextBlock', inlines, ...extra });

export function formatTeams(n: Notification, t: Extract<TargetConfig, { type: 'teams' }>, shape: MessageShape): OutgoingRequest {
  const color = n.status === 'resolved' ? 'Good' : n.severity === 'critical' ? 'Attention' : 'Warning';
  const shown = shape === 'full' ? factLines(n) : targetFacts(n);
  const body: unknown[] = [
    block([run(fit(headline(n), TITLE_CHARS), { size: 'Large', weight: 'Bolder', color })]),
    ...shown.map(([k, v], i) => block([run(`${k}: `, { weight: 'Bolder' }), run(fit(v, FACT_CHARS))], i ? { spacing: 'None' } : {})),
  ];
  const linesAt = body.length;
  if (shape === 'full') {
    if (!n.lines.length && n.linesError) body.push(block([run(fit(oneLine(`Lines unavailable: ${n.linesError}`), ERROR_CHARS), { isSubtle: true })]));
    if (n.logql) body.push(block([run(`LogQL: ${fit(oneLine(n.logql), LOGQL_CHARS)}`, { isSubtle: true, fontType: 'Monospace', size: 'Small' })]));
  }
  const linkFits = !!n.exploreUrl && n.exploreUrl.length <= URL_CHARS;
  if (n.exploreUrl && !linkFits) body.push(block([run(linkLeftOut(n.exploreUrl, `${URL_CHARS} characters`), { isSubtle: true })]));
  const card = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    msteams: { width: 'Full' },
    body,
    actions: linkFits ? [{ type: 'Action.OpenUrl', title: 'Open in Grafana Explore', url: n.exploreUrl }] : [],
  };
  const msg = { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };
  if (shape === 'full' && n.lines.length) {
    const lines = block([run('', { fontType: 'Monospace', size: 'Small' })]);
    const room = MESSAGE_BYTES - utf8Bytes(JSON.stringify(msg)) - utf8Bytes(JSON.stringify(lines)) - 1;
    if (room >= MIN_LINES_BYTES) {
      const most = linesText(n, LINES_CHARS);
      lines.inlines[0]!.text = jsonBytes(most) <= room ? most : linesText(n, room, { measure: jsonBytes });
      body.splice(linesAt, 0, lines);
    }
  }
  const out = JSON.stringify(msg);
  if (utf8Bytes(out) > MESSAGE_BYTES) throw new Error(`teams message of ${utf8Bytes(out)} bytes, over ${MESSAGE_BYTES}`);
  return { url: t.url, headers: { ...JSON_HEADERS }, body: out };
}
