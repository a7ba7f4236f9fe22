/**
 * The relay's durable state, under state_dir:
 *   queue/<seq>-<key>.json   one file per notification × target not yet delivered;
 *                            written to a temp file, fsynced, renamed, folder fsynced,
 *                            before Alertmanager gets its 2xx. Replayed on start.
 *   delivered.log            "<epoch ms> <key> <delivered|dead>" per line, appended and
 *                            fsynced right after a target answers 2xx (or the job is dead-
 *                            lettered). A key in it, or in the queue, is never posted again.
 *                            Entries older than dedupe_retention are dropped on start.
 *   dead-letter.jsonl        notifications a target refused for good (a 4xx other than
 *                            408/429) or that kept failing past retry.max_age, with the reason.
 * A crash between a target's 2xx and the fsync of delivered.log is the only window in
 * which a notification can be posted twice (at-least-once); it is never silently lost.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Notification } from './notification.js';

export interface Job {
  seq: number;
  key: string;
  target: string;
  createdAt: number;
  notification: Notification;
}

export class Store {
  private readonly queueDir: string;
  private readonly deliveredFile: string;
  private readonly deadFile: string;
  private readonly done = new Map<string, number>();
  private readonly queued = new Set<string>();
  private seq = 0;

  constructor(readonly dir: string, private readonly retentionMs: number) {
    this.queueDir = join(dir, 'queue');
    this.deliveredFile = join(dir, 'delivered.log');
    this.deadFile = join(dir, 'dead-letter.jsonl');
  }

  /** Loads state; returns the queued jobs in arrival order. */
  open(): Job[] {
    mkdirSync(this.queueDir, { recursive: true });
    const cutoff = Date.now() - this.retentionMs;
    let text = '';
    try { text = readFileSync(this.deliveredFile, 'utf8'); } catch { /* first start */ }
    const kept: string[] = [];
    for (const line of text.split('\n')) {
      const [ms, key] = line.split(' ');
      if (!ms || !key) continue; // a torn last line from a crash
      if (Number(ms) < cutoff) continue;
      this.done.set(key, Number(ms));
      kept.push(line);
    }
    // Rewrite without expired entries (atomically).
    const tmp = `${this.deliveredFile}.tmp`;
    writeFileSync(tmp, kept.length ? `${kept.join('\n')}\n` : '');
    renameSync(tmp, this.deliveredFile);

    const jobs: Job[] = [];
    for (const name of readdirSync(this.queueDir)) {
      const p = join(this.queueDir, name);
      if (name.endsWith('.tmp')) { rmSync(p, { force: true }); continue; }
      if (!name.endsWith('.json')) continue;
      let job: Job;
      try {
        job = JSON.parse(readFileSync(p, 'utf8')) as Job;
      } catch {
        renameSync(p, `${p}.corrupt`);
        continue;
      }
      if (this.done.has(job.key)) { rmSync(p, { force: true }); continue; } // delivered, file not yet removed
      this.queued.add(job.key);
      jobs.push(job);
      this.seq = Math.max(this.seq, job.seq);
    }
    return jobs.sort((a, b) => a.seq - b.seq);
  }

  isKnown(key: string): boolean {
    return this.done.has(key) || this.queued.has(key);
  }

  get pending(): number {
    return this.queued.size;
  }

  /** Durably queues a job; resolves only once it would survive a crash. */
  async enqueue(target: string, key: string, notification: Notification): Promise<Job> {
    const job: Job = { seq: ++this.seq, key, target, createdAt: Date.now(), notification };
    const file = this.fileOf(job);
    const tmp = `${file}.tmp`;
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(JSON.stringify(job));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    await this.syncDir(this.queueDir);
    this.queued.add(key);
    return job;
  }

  async markDelivered(job: Job): Promise<void> {
    await this.finish(job, 'delivered');
  }

  async deadLetter(job: Job, reason: string): Promise<void> {
    const fh = await open(this.deadFile, 'a');
    try {
      await fh.writeFile(`${JSON.stringify({ time: new Date().toISOString(), reason, job })}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.finish(job, 'dead');
  }

  private async finish(job: Job, how: 'delivered' | 'dead'): Promise<void> {
    const now = Date.now();
    const fh = await open(this.deliveredFile, 'a');
    try {
      await fh.writeFile(`${now} ${job.key} ${how}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.done.set(job.key, now);
    this.queued.delete(job.key);
    await unlink(this.fileOf(job)).catch(() => undefined);
  }

  private fileOf(job: Job): string {
    return join(this.queueDir, `${String(job.seq).padStart(12, '0')}-${job.key.slice(0, 32)}.json`);
  }

  private async syncDir(dir: string): Promise<void> {
    const fh = await open(dir, 'r');
    try { await fh.sync(); } finally { await fh.close(); }
  }
}
