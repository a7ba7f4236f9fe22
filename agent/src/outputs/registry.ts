import { z } from 'zod';
import { fileOutputSchema, syslogOutputSchema } from './schema.js';
import { lokiOutputSchema } from './loki/schema.js';

/** The `outputs:` keys. Each is optional; outputs know nothing of checks. */
export const OUTPUT_SCHEMAS = {
  file: fileOutputSchema.optional(),
  syslog: syslogOutputSchema.optional(),
  loki: lokiOutputSchema.optional(),
};

export const outputsSchema = z.object(OUTPUT_SCHEMAS).strict();

/** The `outputs:` block, validated. */
export type OutputsConfig = z.output<typeof outputsSchema>;
