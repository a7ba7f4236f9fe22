/** What every chat message is made of, before a formatter adds its markup. */
import { facts, icon, title, type Notification } from '../notification.js';
import { oneLine, utf8Bytes } from '../text.js';

/** The title line: icon, state and summary on one line. */
export const headline = (n: Notification): string => oneLine(`${icon(n)} ${title(n)}`);

/** The facts, each value on one line. */
export const factLines = (n: Notification): [string, string][] => facts(n).map(([k, v]) => [k, oneLine(v)]);

/** What the alert is about, for the minimal message. */
export const targetFacts = (n: Notification): [string, string][] => [['Host', oneLine(n.host || '-')], ['Check', oneLine(n.check || '-')]];

/** Said instead of an Explore link too long for the platform: a cut URL would open the wrong query. */
export const linkLeftOut = (url: string, limit: string): string => `Explore link left out: ${utf8Bytes(url)} bytes, over ${limit}`;

/**
 * Parts joined by blank lines, with the lines block put at `at` given the room left in `max`
 * (`block(room)` returns undefined when there is too little room to show any line).
 */
export function withLines(parts: string[], at: number, max: number, block: (room: number) => string | undefined): string {
  const SEP = '\n\n';
  const room = max - parts.join(SEP).length - SEP.length;
  const b = block(room);
  return (b === undefined ? parts : [...parts.slice(0, at), b, ...parts.slice(at)]).join(SEP);
}
