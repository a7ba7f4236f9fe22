import { z } from 'zod';

export const fileOutputSchema = z
  .object({
    path: z.string().min(1).meta({ description: 'The LOG_FILE: every status line, prefixed "YYYY-MM-DD HH:MM:SS | "' }),
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
