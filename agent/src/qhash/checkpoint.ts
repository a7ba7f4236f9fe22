/**
 * When `--follow` saves its state: at most every `intervalMs` while data flows, and when idle only
 * if something changed since the last save. The caller writes the output before each save (see follow.ts).
 */
import { saveState, type QhashState } from './state.js';

export class Checkpointer {
  /** Something changed since the last save. */
  dirty = true;
  private last = 0;

  constructor(private readonly stateDir: string, private readonly intervalMs: number) {}

  /** The interval since the last save has passed. */
  due(): boolean {
    return Date.now() - this.last >= this.intervalMs;
  }

  save(state: QhashState): void {
    saveState(this.stateDir, state);
    this.last = Date.now();
    this.dirty = false;
  }
}
