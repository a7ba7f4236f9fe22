/**
 * The stand-in chat answering as the real services do when a message breaks their documented
 * limits: the status and error text each platform sends. Also the checks the tests assert with.
 * (Limits and sources: see agent/src/relay/formatters/*.ts.)
 */
import type { ChatAnswer, ChatMessage } from '../harness/chat.js';

export interface SlackMessage {
  text: string;
  blocks: { type: string; text?: { type: string; text: string }; fields?: { text: string }[]; elements?: { text?: string; url?: string }[] }[];
}
export interface TeamsMessage {
  attachments: { content: { body: { type: string; text?: string; inlines?: { type: string; text: string }[]; facts?: { title: string; value: string }[] }[]; actions: { url: string }[] } }[];
}

/** Why Slack would refuse these blocks (docs.slack.dev block reference), or undefined. */
export function slackProblem(m: SlackMessage): string | undefined {
  if (m.blocks.length > 50) return `${m.blocks.length} blocks`;
  for (const b of m.blocks) {
    if (b.type === 'header' && b.text!.text.length > 150) return `header of ${b.text!.text.length}`;
    if (b.text && b.text.text.length > 3000) return `${b.type} text of ${b.text.text.length}`;
    if (b.fields && b.fields.length > 10) return `${b.fields.length} fields`;
    for (const f of b.fields ?? []) if (f.text.length > 2000) return `field of ${f.text.length}`;
    for (const e of b.elements ?? []) {
      if ((e.text?.length ?? 0) > 3000) return `element text of ${e.text!.length}`;
      if ((e.url?.length ?? 0) > 3000) return `url of ${e.url!.length}`;
    }
  }
  return undefined;
}

/** Telegram's text after entity parsing: tags gone, entities one character. */
export function telegramParsed(html: string): string {
  return html.replace(/<[^>]*>/g, '').replace(/&(lt|gt|amp|quot);/g, 'x');
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** Each platform's answer to a message it will not take (its own status and error text). */
export function refusal(path: string, why = 'too long'): { status: number; body: string } {
  if (path.startsWith('/slack')) return { status: 400, body: 'invalid_blocks' };
  if (path.startsWith('/teams')) return { status: 413, body: '{"error":{"code":"RequestEntityTooLarge","message":"Request Entity too large"}}' };
  if (path.startsWith('/gchat')) return { status: 400, body: `{"error":{"code":400,"message":"Message is ${why === 'too long' ? 'longer than 4096 characters' : why}","status":"INVALID_ARGUMENT"}}` };
  if (path.startsWith('/telegram')) return { status: 400, body: `{"ok":false,"error_code":400,"description":"Bad Request: message is ${why}"}` };
  return { status: 400, body: '{"error":"bad request"}' };
}

/** Whether the platform behind a path of the relay tests takes this message, by its documented limits. */
export function withinLimits(m: ChatMessage): boolean {
  if (m.path.startsWith('/slack')) return slackProblem(m.json as SlackMessage) === undefined;
  if (m.path.startsWith('/teams')) return bytes(m.body) <= 28_000;
  if (m.path.startsWith('/gchat')) return (m.json as { text: string }).text.length <= 4096 && bytes(m.body) <= 32_000;
  if (m.path.startsWith('/telegram')) return telegramParsed((m.json as { text: string }).text).length <= 4096;
  return true;
}

/** Answers like the platforms do: their refusal for a message over their limits, else the usual 200. */
export const platformAnswer: ChatAnswer = (m) => (withinLimits(m) ? undefined : refusal(m.path));

/** Every string in a JSON value. */
export function stringsOf(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(stringsOf);
  if (v && typeof v === 'object') return Object.values(v).flatMap(stringsOf);
  return [];
}
