/** The shapes of Loki's JSON answers that iMom reads (https://grafana.com/docs/loki/latest/reference/loki-http-api/). */
import { z } from 'zod';

export const labelSetSchema = z.record(z.string(), z.string());

/** The third element of an entry when the query asked for categorize-labels. */
const categorizedSchema = z.object({ structuredMetadata: labelSetSchema.optional(), parsed: labelSetSchema.optional() });

export const streamsDataSchema = z.object({
  resultType: z.literal('streams'),
  result: z.array(z.object({
    stream: labelSetSchema.default({}),
    values: z.array(z.tuple([z.string(), z.string(), categorizedSchema.optional()])),
  })),
});

/** [unix seconds, value as a decimal string], as Prometheus writes a sample. */
const sampleValueSchema = z.tuple([z.number(), z.string()]);

export const vectorDataSchema = z.object({
  resultType: z.literal('vector'),
  result: z.array(z.object({ metric: labelSetSchema.default({}), value: sampleValueSchema })),
});

export const scalarDataSchema = z.object({ resultType: z.literal('scalar'), result: sampleValueSchema });

const matrixDataSchema = z.object({ resultType: z.literal('matrix'), result: z.array(z.unknown()) });

export const queryAnswerSchema = z.object({
  data: z.discriminatedUnion('resultType', [streamsDataSchema, vectorDataSchema, scalarDataSchema, matrixDataSchema]),
});

export const labelSetsAnswerSchema = z.object({ data: z.array(labelSetSchema).default([]) });

export const namesAnswerSchema = z.object({ data: z.array(z.string()).nullish().transform((d) => d ?? []) });

export const rulerAlertSchema = z.object({
  labels: labelSetSchema,
  annotations: labelSetSchema.default({}),
  state: z.string(),
  activeAt: z.string().optional(),
  value: z.string().optional(),
});

export const rulerAlertsAnswerSchema = z.object({ data: z.object({ alerts: z.array(rulerAlertSchema) }) });
