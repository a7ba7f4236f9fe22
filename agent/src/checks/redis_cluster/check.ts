/**
 * The redis_cluster target: read every node (probe.ts), build the view once (view.ts), read the
 * intended layout, run the rules (rules.ts), save the layout they return. All file I/O is here.
 */
import type { InstanceContext, RunContext, Target } from '../../core/check.js';
import { resultFactory } from '../../core/check.js';
import { reasonOf } from '../../core/redact.js';
import type { CheckResult } from '../../core/result.js';
import { addrKey, type RedisClusterInstance } from './schema.js';
import { layoutPath, legacyLayoutPath, moveLegacyLayout, readLayout, writeLayout } from './layout.js';
import { ClusterReader } from './probe.js';
import { evaluate, overLimit, unreachable, type LayoutSource } from './rules.js';
import { buildView, overNodeLimit, type ClusterSettings } from './view.js';
import { formatLine } from '../../core/format.js';
import { RedisTls } from '../../common/redis/tls.js';

const CHECK = 'redis_cluster';

export function settingsOf(inst: RedisClusterInstance): ClusterSettings {
  const serverOf = new Map<string, string>();
  const serverOrder: string[] = [];
  for (const [server, list] of Object.entries(inst.servers ?? {})) {
    serverOrder.push(server);
    for (const hp of list) serverOf.set(addrKey(hp), server);
  }
  return {
    name: inst.name, target: inst.nodes.map((n) => n.text).join(','), serverOf, serverOrder,
    maxMasterSkew: inst.max_master_skew, maxMemoryRatio: inst.max_memory_ratio, singleServer: inst.single_server,
  };
}

/**
 * Each line once per cycle, the first kept: a view listing one address under two ids (a
 * confused or hostile node) would otherwise say the same thing about it twice.
 */
function distinct(lines: readonly CheckResult[]): CheckResult[] {
  const seen = new Set<string>();
  return lines.filter((l) => {
    const key = formatLine(l);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function redisClusterTargets(inst: RedisClusterInstance, instCtx: InstanceContext): Target[] {
  const r = resultFactory(CHECK, inst.name);
  const secrets = [inst.password];
  const settings = settingsOf(inst);
  const { name, target } = settings;
  // Read here, when the target is built (at start and on reload), never per connection.
  const tls = RedisTls.of(inst.tls);
  const reader = new ClusterReader(inst, secrets, tls);
  const configured = inst.masters ? new Set(inst.masters.map(addrKey)) : undefined;
  const path = layoutPath(instCtx.stateDir);
  /** Looked at once, on the first run that reads the layout. */
  let legacy = legacyLayoutPath(instCtx.stateDir, name);

  /** The layout file as this run finds it, and the line saying why it could not be read. */
  async function layoutSource(lines: CheckResult[]): Promise<LayoutSource> {
    if (configured) return { kind: 'configured', masters: configured };
    try {
      if (legacy !== undefined) {
        await moveLegacyLayout(legacy, path);
        legacy = undefined;
      }
      return { kind: 'observed', file: await readLayout(path) };
    } catch (e) {
      lines.push(r.message(target, 'ERROR', `Cluster ${name} layout file ${path} is unreadable (${reasonOf(e, secrets)}); failovered/failbacked are not checked`));
      return { kind: 'unreadable' };
    }
  }

  return [{
    id: `${CHECK}/${name}`,
    target,
    async run(ctx: RunContext) {
      const probe = await reader.probe(ctx);
      // Our certificate's and the nodes' expiry, the key's permissions: after the lines, whatever they are.
      const notices = tls ? tls.notices(true, probe.tried).map((n) => r.message(target, 'ERROR', n)) : [];
      const oversized = overNodeLimit(probe.snaps);
      if (oversized) return [...overLimit(settings, oversized), ...notices];
      const view = buildView(settings, probe);
      if (!view) return [...unreachable(settings, probe), ...notices];
      const layoutLines: CheckResult[] = [];
      const { head, tail, save } = evaluate(view, await layoutSource(layoutLines));
      if (save) {
        try {
          await writeLayout(path, save);
        } catch (e) {
          layoutLines.push(r.message(target, 'ERROR', `Cluster ${name} layout could not be saved to ${path} (${reasonOf(e, secrets)})`));
        }
      }
      return [...distinct([...head, ...layoutLines, ...tail]), ...notices];
    },
    failure(reason, time) {
      return [r.message(target, 'CRITICAL', `Cluster ${name} is unreachable (${reasonOf(reason, secrets)})`, time)];
    },
    async close() {
      reader.close();
    },
  }];
}
