/**
 * Microsoft Teams workflow webhook ("When a Teams webhook request is received" →
 * "Post card in a chat or channel"): a message whose attachment is an Adaptive Card 1.4.
 */
import type { TargetConfig } from '../config.js';
import { facts, icon, linesText, title, type Notification } from '../notification.js';
import { JSON_HEADERS, type OutgoingRequest } from './types.js';

export function formatTeams(n: Notification, t: Extract<TargetConfig, { type: 'teams' }>): OutgoingRequest {
  const body: unknown[] = [
    { type: 'TextBlock', size: 'Large', weight: 'Bolder', wrap: true, color: n.status === 'resolved' ? 'Good' : n.severity === 'critical' ? 'Attention' : 'Warning', text: `${icon(n)} ${title(n)}` },
    { type: 'FactSet', facts: facts(n).map(([k, v]) => ({ title: k, value: v })) },
  ];
  if (n.lines.length) body.push({ type: 'TextBlock', text: linesText(n, 8000), wrap: true, fontType: 'Monospace', size: 'Small' });
  else if (n.linesError) body.push({ type: 'TextBlock', text: `Lines unavailable: ${n.linesError}`, wrap: true, isSubtle: true });
  if (n.logql) body.push({ type: 'TextBlock', text: `LogQL: ${n.logql}`, wrap: true, isSubtle: true, fontType: 'Monospace', size: 'Small' });
  const card = {
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    type: 'AdaptiveCard',
    version: '1.4',
    msteams: { width: 'Full' },
    body,
    actions: n.exploreUrl ? [{ type: 'Action.OpenUrl', title: 'Open in Grafana Explore', url: n.exploreUrl }] : [],
  };
  const msg = { type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: card }] };
  return { url: t.url, headers: { ...JSON_HEADERS }, body: JSON.stringify(msg) };
}
