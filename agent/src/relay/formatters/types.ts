import type { TargetConfig } from '../config.js';
import type { Notification } from '../notification.js';

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export type Formatter<T extends TargetConfig = TargetConfig> = (n: Notification, target: T) => OutgoingRequest;

export const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };
