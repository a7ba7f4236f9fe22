/** The ruler's view: /prometheus/api/v1/alerts, each alert with labels and annotations as the ruler rendered them. */
import type { z } from 'zod';
import { rulerAlertsAnswerSchema, type rulerAlertSchema } from './answers.js';
import { callLoki, type LokiTarget } from './http.js';

export type RulerAlert = z.output<typeof rulerAlertSchema>;

export async function rulerAlerts(t: LokiTarget): Promise<RulerAlert[]> {
  return (await callLoki(t, '/prometheus/api/v1/alerts', rulerAlertsAnswerSchema)).data.alerts;
}
