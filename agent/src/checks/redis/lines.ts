/**
 * The redis check's lines, pure: one node's INFO (and what the last cycle saw) in, its lines
 * out; the Sentinels' INFO sentinel in, the master's line out. All I/O is in check.ts.
 */
import type { resultFactory } from '../../core/check.js';
import type { CheckResult } from '../../core/result.js';
import { memoryProblem, persistenceProblems, type Problem } from '../../common/redis/health.js';

type Results = ReturnType<typeof resultFactory>;
export type Role = 'master' | 'slave';

export interface NodeSettings {
  readonly maxMemoryRatio: number;
  readonly minConnectedSlaves: number | undefined;
}

/** What a node's last cycle saw, to tell an increase from a restart (a new run_id starts from 0). */
export interface NodeMemo {
  readonly run_id: string;
  readonly rejected_connections: number;
}

export function memoOf(info: ReadonlyMap<string, string>): NodeMemo | undefined {
  const runId = info.get('run_id');
  const rejected = Number(info.get('rejected_connections'));
  return runId !== undefined && Number.isFinite(rejected) ? { run_id: runId, rejected_connections: rejected } : undefined;
}

/**
 * One node's lines: CRITICAL when its role is not `want` (undefined: any role is right), else
 * an ERROR line for each problem (link down, memory, persistence, rejected connections, too few
 * slaves), else one OK line. The OK line is never written beside an ERROR one: a target's
 * state is its last line, so an OK line after the ERROR would hide it from the rules.
 */
export function nodeLines(r: Results, node: string, want: Role | undefined, info: ReadonlyMap<string, string>, settings: NodeSettings, before: NodeMemo | undefined): CheckResult[] {
  const role = info.get('role') ?? 'unknown';
  if (want !== undefined && role !== want) {
    return [r.message(node, 'CRITICAL', `Node ${node} is expected to be ${want} but found ${role}`)];
  }
  const out: CheckResult[] = [];
  if (role === 'slave') {
    const link = info.get('master_link_status') ?? 'unknown';
    if (link !== 'up') {
      out.push(r.fields(node, 'ERROR', [
        ['Node', node], ['Role', role], ['Master', `${info.get('master_host') ?? '?'}:${info.get('master_port') ?? '?'}`], ['Master_Link_Status', link],
        ['Master_Link_Down_Since_Seconds', info.get('master_link_down_since_seconds') ?? null],
      ]));
    }
  }
  const problems: Problem[] = [];
  const memory = memoryProblem(node, info, settings.maxMemoryRatio);
  if (memory) problems.push(memory);
  problems.push(...persistenceProblems(node, info));
  const now = memoOf(info);
  if (now && before && before.run_id === now.run_id && now.rejected_connections > before.rejected_connections) {
    const maxclients = info.get('maxclients');
    problems.push({
      status: 'ERROR',
      message: `Node ${node} rejected ${now.rejected_connections - before.rejected_connections} connections since the last check (rejected_connections=${now.rejected_connections}, connected_clients=${info.get('connected_clients') ?? '?'}${maxclients !== undefined ? `, maxclients=${maxclients}` : ''})`,
    });
  }
  const min = settings.minConnectedSlaves;
  const slaves = Number(info.get('connected_slaves') ?? 0);
  if (role === 'master' && min !== undefined && slaves < min) {
    problems.push({ status: 'ERROR', message: `Master ${node} has ${slaves} connected slaves, fewer than min_connected_slaves=${min}` });
  }
  out.push(...problems.map((p) => r.message(node, p.status, p.message)));
  return out.length > 0 ? out : [r.fields(node, 'OK', [['Node', node], ['Role', role]])];
}

/** One Sentinel's answer: its INFO sentinel, or why it could not be read. */
export type SentinelAnswer = { readonly addr: string; readonly info: ReadonlyMap<string, string> } | { readonly addr: string; readonly error: string };

/** `masterN:name=<name>,status=ok,address=ip:port,slaves=1,sentinels=3` of INFO sentinel → its fields. */
export function sentinelMaster(info: ReadonlyMap<string, string>, name: string): ReadonlyMap<string, string> | undefined {
  for (const [k, v] of info) {
    if (!/^master\d+$/.test(k)) continue;
    const fields = new Map(v.split(',').map((kv) => { const i = kv.indexOf('='); return [kv.slice(0, i), kv.slice(i + 1)] as const; }));
    if (fields.get('name') === name) return fields;
  }
  return undefined;
}

export interface SentinelVerdict {
  readonly lines: CheckResult[];
  /** The master's address when every Sentinel that answered names the same one. */
  readonly master: string | undefined;
}

/**
 * The master's line (target: its Sentinel name). CRITICAL when no Sentinel answers or when
 * those that answer name different masters; ERROR, once, when they agree on another master
 * than the last cycle's (a failover); ERROR when some Sentinels do not answer or do not monitor
 * the name; otherwise OK.
 */
export function sentinelLines(r: Results, name: string, answers: readonly SentinelAnswer[], previous: string | undefined): SentinelVerdict {
  const byAddress = new Map<string, string[]>();
  const missing: string[] = [];
  for (const a of answers) {
    if ('error' in a) { missing.push(`${a.addr} did not answer (${a.error})`); continue; }
    const address = sentinelMaster(a.info, name)?.get('address');
    if (address === undefined) { missing.push(`${a.addr} does not monitor ${name}`); continue; }
    byAddress.set(address, [...(byAddress.get(address) ?? []), a.addr]);
  }
  if (byAddress.size === 0) {
    return { lines: [r.message(name, 'CRITICAL', `Master ${name} is named by no Sentinel (${missing.join('; ')})`)], master: undefined };
  }
  if (byAddress.size > 1) {
    const views = [...byAddress].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0])).map(([addr, from]) => `${addr} from ${from.join(', ')}`);
    return { lines: [r.message(name, 'CRITICAL', `Master ${name} is not agreed on by its Sentinels (${views.join('; ')})`)], master: undefined };
  }
  const [[master, from]] = [...byAddress] as [[string, string[]]];
  const say = `${from.length} of ${answers.length} Sentinels`;
  if (previous !== undefined && previous !== master) {
    return { lines: [r.message(name, 'ERROR', `Master ${name} failed over from ${previous} to ${master} (${say} agree)`)], master };
  }
  if (missing.length > 0) {
    return { lines: [r.message(name, 'ERROR', `Master ${name} is ${master} as ${say} say; ${missing.join('; ')}`)], master };
  }
  return { lines: [r.fields(name, 'OK', [['Master', name], ['Address', master], ['Sentinels', from.length]])], master };
}
