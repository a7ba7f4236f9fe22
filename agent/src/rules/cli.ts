/** `imom rules test FILE…` */
import type { ConnectionOptions } from 'node:tls';
import type { Command } from 'commander';
import { action, EXIT, type CommandModule } from '../command/command.js';
import { ConfigError } from '../config/errors.js';
import { tlsSchema } from '../config/tls.js';
import { loadTls } from '../core/tls/index.js';
import { startPrivateLoki, type PrivateLoki } from './loki-process.js';
import { loadTestFile, runTestFile, type LoadedTestFile } from './runner.js';

export interface RulesTestOptions {
  lokiUrl?: string;
  lokiBin?: string;
  concurrency?: string;
  /** For an https:// --loki-url: tls_config's ca_file, cert_file, key_file and server_name. */
  lokiCaFile?: string;
  lokiCertFile?: string;
  lokiKeyFile?: string;
  lokiServerName?: string;
}

/** The client TLS of an external Loki, from the --loki-* flags (the `tls:` schema checks the files). */
function lokiTlsOf(o: RulesTestOptions): ConnectionOptions | undefined {
  if (!o.lokiCaFile && !o.lokiCertFile && !o.lokiKeyFile && !o.lokiServerName) return undefined;
  const flags: Record<string, string> = { ca_file: '--loki-ca-file', cert_file: '--loki-cert-file', key_file: '--loki-key-file', server_name: '--loki-server-name' };
  const parsed = tlsSchema.safeParse({ ca_file: o.lokiCaFile, cert_file: o.lokiCertFile, key_file: o.lokiKeyFile, server_name: o.lokiServerName });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${flags[String(i.path[0])] ?? '--loki-*'}: ${i.message}`);
    throw new ConfigError(problems.join('\n'), problems);
  }
  return loadTls(parsed.data).options;
}

export async function rulesTest(files: string[], opts: RulesTestOptions, out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  // Every file is checked before Loki starts: a bad test file is exit 2, not a failure.
  const loaded: LoadedTestFile[] = [];
  const problems: string[] = [];
  for (const f of files) {
    try {
      loaded.push(loadTestFile(f));
    } catch (e) {
      if (e instanceof ConfigError) problems.push(...e.problems);
      else throw e;
    }
  }
  if (problems.length) throw new ConfigError(problems.join('\n'), problems);
  const tls = lokiTlsOf(opts);

  let priv: PrivateLoki | undefined;
  const url = opts.lokiUrl ?? process.env.IMOM_RULES_TEST_LOKI_URL;
  if (!url) priv = await startPrivateLoki(opts.lokiBin ? { bin: opts.lokiBin } : {});
  const concurrency = opts.concurrency ? Math.max(1, Number(opts.concurrency)) : 4;
  let failed = 0;
  try {
    for (const t of loaded) {
      out(`Unit Testing:  ${t.file}\n`);
      const r = await runTestFile(t, { loki: url ? { url, tls } : { url: priv!.url }, concurrency });
      if (r.failures.length === 0) out('  SUCCESS\n\n');
      else {
        failed++;
        out(`  FAILED:\n${r.failures.join('\n')}\n\n`);
      }
    }
  } finally {
    await priv?.stop();
  }
  return failed > 0 ? EXIT.PROBLEM : EXIT.OK;
}

export const rulesCommands: CommandModule = (program: Command) => {
  const rules = program.command('rules').description('Loki alerting rules');
  rules
    .command('test')
    .description('Unit-test Loki rules against a real Loki (promtool-style test files)')
    .argument('<files...>', 'test files, e.g. ruler/tests/*.yaml')
    .option('--loki-url <url>', 'a multi-tenant Loki (auth_enabled: true) to test against; default: start a private one')
    .option('--loki-bin <path>', 'the loki binary for the private Loki')
    .option('--concurrency <n>', 'instant queries in flight per rule', '4')
    .option('--loki-ca-file <file>', 'for an https:// --loki-url: the CA that signed its certificate')
    .option('--loki-cert-file <file>', 'client certificate, for a Loki that requires one (with --loki-key-file)')
    .option('--loki-key-file <file>', 'the client certificate\'s private key')
    .option('--loki-server-name <name>', 'the name expected in its certificate, when it is not the URL\'s host')
    .action(action((files: string[], opts: RulesTestOptions) => rulesTest(files, opts)));
};
