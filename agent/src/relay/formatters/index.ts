/** One formatter per target type. */
import type { TargetConfig } from '../config.js';
import type { Notification } from '../notification.js';
import { formatGoogleChat } from './google-chat.js';
import { formatSlack } from './slack.js';
import { formatTeams } from './teams.js';
import { formatTelegram } from './telegram.js';
import type { OutgoingRequest } from './types.js';
import { formatWebhook } from './webhook.js';

export type { OutgoingRequest } from './types.js';

export function formatFor(n: Notification, t: TargetConfig): OutgoingRequest {
  switch (t.type) {
    case 'slack': return formatSlack(n, t);
    case 'teams': return formatTeams(n, t);
    case 'google_chat': return formatGoogleChat(n, t);
    case 'telegram': return formatTelegram(n, t);
    case 'webhook': return formatWebhook(n, t);
  }
}
