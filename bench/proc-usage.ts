/** A process's CPU and memory as the kernel counts them, from /proc/<pid>/stat and status. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

// Clock ticks per second for utime/stime (getconf CLK_TCK: 100 on Linux x86-64).
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

export interface ProcUsage {
  /** utime + stime, seconds, threads included. */
  cpuSeconds: number;
  rssMb: number;
  /** RSS in anonymous pages (heaps, stacks) and in file pages (the executable, libraries, addons). */
  rssAnonMb: number;
  rssFileMb: number;
  /** VmHWM: the highest RSS since the process started. */
  peakRssMb: number;
}

export function procUsage(pid: number): ProcUsage {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: utime and stime
  // are fields 14 and 15 of stat(5), so 11 and 12 counted from the field after ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return {
    cpuSeconds: (Number(f[11]) + Number(f[12])) / CLK_TCK,
    rssMb: kb('VmRSS') / 1024,
    rssAnonMb: kb('RssAnon') / 1024,
    rssFileMb: kb('RssFile') / 1024,
    peakRssMb: kb('VmHWM') / 1024,
  };
}
