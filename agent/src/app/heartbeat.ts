/**
 * The agent's heartbeat line: `Status=OK, Agent=alive` every heartbeat_interval (60 s), as check
 * "heartbeat", instance "agent" (file `heartbeat.agent.log` with `{check}.{instance}.log`, so
 * Promtail and the collector label it like any check; only outputs that keep it apart get it:
 * Loki and a file per check, never a single LOG_FILE, syslog or stdout). AgentSilent reads this one stream per
 * host, so its 25 h look-back costs at most 1,500 lines per host per evaluation, however many
 * checks the host runs. `imom retire` writes `Agent=retired`: the host is no longer expected.
 * Check rules exclude check="heartbeat" (ruler/rules/fake/imom.yaml).
 */
import type { CheckResult } from '../core/result.js';

export const HEARTBEAT_CHECK = 'heartbeat';

export function heartbeatLine(state: 'alive' | 'retired', host: string, time = new Date()): CheckResult {
  return { check: HEARTBEAT_CHECK, instance: 'agent', target: host, status: 'OK', time, fields: [['Agent', state]] };
}
