/** One formatter per target type. */
import type { TargetConfig } from '../config.js';
import type { Notification } from '../notification.js';
import { formatGoogleChat } from './google-chat.js';
import { formatSlack } from './slack.js';
import { formatTeams } from './teams.js';
import { formatTelegram } from './telegram.js';
import type { MessageShape, OutgoingRequest } from './types.js';
import { formatWebhook } from './webhook.js';

export type { MessageShape, OutgoingRequest } from './types.js';

export function formatFor(n: Notification, t: TargetConfig, shape: MessageShape = 'full'): OutgoingRequest {
  switch (t.type) {
    case 'slack': return formatSlack(n, t, shape);
    case 'teams': return formatTeams(n, t, shape);
    case 'google_chat': return formatGoogleChat(n, t, shape);
    case 'telegram': return formatTelegram(n, t, shape);
    case 'webhook': return formatWebhook(n, t);
  }
}
