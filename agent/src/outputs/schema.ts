import { z } from 'zod';

/** What a file output path may name: {check}, the check's name; {instance}, the instance's name (Promtail labels both from the path). */
const PATH_PLACEHOLDERS = ['check', 'instance'];

export const fileOutputSchema = z
  .object({
    path: z
      .string()
      .min(1)
      .superRefine((path, ctx) => {
        // A misspelt {chek} was taken literally: every check's lines went to one file named "{chek}".
        const unknown = [...path.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]).filter((name) => !PATH_PLACEHOLDERS.includes(name!));
        if (unknown.length) ctx.addIssue({ code: 'custom', message: `unknown placeholder ${unknown.map((n) => `{${n}}`).join(', ')} (known: ${PATH_PLACEHOLDERS.map((n) => `{${n}}`).join(', ')})` });
      })
      .meta({ description: 'The LOG_FILE: every status line, prefixed "YYYY-MM-DD HH:MM:SS | "; {check} gives one file per check, {check}.{instance} one per instance' }),
  })
  .strict();

export const syslogOutputSchema = z
  .object({
    enabled: z.boolean().default(true),
    address: z
      .string()
      .default('/dev/log')
      .refine((a) => a.startsWith('/') || /^(udp|tcp):\/\/[^/:]+:\d+$/.test(a), 'expected a socket path (/dev/log) or udp://host:port or tcp://host:port')
      .meta({ description: 'Unix datagram socket path, or udp://host:port, or tcp://host:port' }),
    facility: z.enum(['user', 'daemon', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7']).default('user'),
  })
  .strict()
  .meta({ description: 'ERROR and CRITICAL lines only, tagged <check>_check, as logger(1) writes them' });

export type FileOutputConfig = z.output<typeof fileOutputSchema>;
export type SyslogOutputConfig = z.output<typeof syslogOutputSchema>;
