/** Runs inside its own process so its RSS is the agent's alone: idle, then during two cycles. */
import { Agent } from '../agent/src/app/agent.js';
import { loadConfigFile } from '../agent/src/config/load.js';
import { configSchema } from '../agent/src/app/config-schema.js';

const cfg = loadConfigFile(process.argv[2]!, configSchema);
const agent = await Agent.create(cfg);
const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;
global.gc?.();
await new Promise((r) => setTimeout(r, 200));
const idleRss = process.memoryUsage.rss();
let peak = idleRss;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
const cycle = async () => {
  const t0 = process.hrtime.bigint();
  await agent.scheduler.runOnce();
  return Number(process.hrtime.bigint() - t0) / 1e6;
};
const coldMs = await cycle(); // connects to every server
const warmMs = await cycle(); // the agent's steady state: connections are kept
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage.rss());
const c = agent.outputs.counts;
await agent.stop();
process.stdout.write(JSON.stringify({ coldMs, warmMs, idleRssMb: mb(idleRss), peakRssMb: mb(peak), lines: c.OK + c.ERROR + c.CRITICAL, problems: c.ERROR + c.CRITICAL }) + '\n');
process.exit(0);
