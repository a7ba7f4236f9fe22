import type { TargetConfig } from '../config.js';
import type { Notification } from '../notification.js';

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * `full`: everything the notification says, cut to the platform's limits.
 * `minimal`: title, target (host and check) and Explore link only, sent when a chat refused the full one.
 */
export type MessageShape = 'full' | 'minimal';

export type Formatter<T extends TargetConfig = TargetConfig> = (n: Notification, target: T, shape: MessageShape) => OutgoingRequest;

export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
