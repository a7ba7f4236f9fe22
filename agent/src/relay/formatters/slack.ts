/**
 * Slack incoming webhook: Block Kit message with a plain-text fallback.
 *
 * Limits (docs.slack.dev/reference/block-kit/blocks: header, section, actions; composition
 * objects): header text 150 characters, section text 3000, a field's text 2000 and 10 fields
 * per section, 50 blocks per message, a button's url 3000. Slack also refuses a message whose
 * blocks total about 13,000 characters (msg_blocks_too_long, slackapi/bolt-js#2509) though no
 * page says so, hence the tighter caps on facts and LogQL below.
 */
import type { TargetConfig } from '../config.js';
import { linesText, type Notification } from '../notification.js';
import { fit, oneLine } from '../text.js';
import { factLines, headline, linkLeftOut, targetFacts } from './parts.js';
import { JSON_HEADERS, type MessageShape, type OutgoingRequest } from './types.js';

const HEADER_CHARS = 150;
const SECTION_CHARS = 3000;
const MAX_FIELDS = 10;
const MAX_BLOCKS = 50;
const URL_CHARS = 3000;
/** A fact value: host, check, env are short; 300 keeps six of them under 2,000 characters. */
const FACT_CHARS = 300;
const LOGQL_CHARS = 1000;
/** The top-level text (notifications, old clients): Slack advises at most 4,000 characters and truncates at 40,000 (docs.slack.dev chat.postMessage). */
const FALLBACK_CHARS = 4000;

/** Slack's own escaping: only &, < and > are control characters in mrkdwn (docs.slack.dev "Formatting text"). */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fitEsc = (s: string, max: number) => fit(s, max, { escape: esc });
/** mrkdwn that Slack shows as written: verbatim stops it turning names and URLs in alert text into mentions and links. */
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text, verbatim: true });

export function formatSlack(n: Notification, t: Extract<TargetConfig, { type: 'slack' }>, shape: MessageShape): OutgoingRequest {
  const head = headline(n);
  const shown = shape === 'full' ? factLines(n) : targetFacts(n);
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: fit(head, HEADER_CHARS), emoji: true } },
    { type: 'section', fields: shown.slice(0, MAX_FIELDS).map(([k, v]) => mrkdwn(`*${k}*\n${fitEsc(v, FACT_CHARS)}`)) },
  ];
  if (shape === 'full') {
    if (n.lines.length) blocks.push({ type: 'section', text: mrkdwn(`\`\`\`${linesText(n, SECTION_CHARS - 6, { escape: esc })}\`\`\``) });
    else if (n.linesError) blocks.push({ type: 'context', elements: [mrkdwn(fitEsc(oneLine(`Lines unavailable: ${n.linesError}`), SECTION_CHARS))] });
    if (n.logql) blocks.push({ type: 'context', elements: [mrkdwn(`LogQL: \`${fitEsc(oneLine(n.logql), LOGQL_CHARS)}\``)] });
  }
  if (n.exploreUrl) {
    if (n.exploreUrl.length <= URL_CHARS) blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Grafana Explore' }, url: n.exploreUrl }] });
    else blocks.push({ type: 'context', elements: [mrkdwn(esc(linkLeftOut(n.exploreUrl, `Slack's ${URL_CHARS} characters for a link`)))] });
  }
  // The link before the lines: what is cut to FALLBACK_CHARS is then lines, never the URL.
  const fallback = [
    fit(head, SECTION_CHARS / 3),
    shown.map(([k, v]) => `${k}: ${fit(v, FACT_CHARS)}`).join(', '),
    ...(n.exploreUrl && n.exploreUrl.length <= URL_CHARS ? [n.exploreUrl] : []),
    ...(shape === 'full' && n.lines.length ? [linesText(n, SECTION_CHARS)] : []),
  ].join('\n');
  return { url: t.url, headers: { ...JSON_HEADERS }, body: JSON.stringify({ text: fitEsc(fallback, FALLBACK_CHARS), blocks: blocks.slice(0, MAX_BLOCKS) }) };
}
