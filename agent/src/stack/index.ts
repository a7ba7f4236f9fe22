/**
 * The local stack as a library (used by `imom stack`, the demo and test/harness/loki.ts):
 *   stackUp({ dir, ... }) -> StackState (components with pid, url, ports; Promtail paths and labels)
 *   stackStatus(dir), stackDown(dir)
 *   lokiSpec / promtailSpec / alertmanagerSpec + spawnProc + waitReady: one component at a time
 */
export { stackUp, stackDown, stackStatus, readState, STATE_FILE, type StackState, type StackUpOptions, type ComponentState, type ComponentStatus } from './stack.js';
export { lokiSpec, promtailSpec, alertmanagerSpec, probeReady, waitReady, READY_PATH, type LokiSpecOptions, type PromtailSpecOptions, type AlertmanagerSpecOptions } from './components.js';
export { spawnProc, stopPid, pidAlive, type Proc, type ProcSpec } from './process.js';
export { findBinary, requireBinary, repoRoot, defaults } from './paths.js';
