/**
 * Where `--follow` starts after a restart: a pure decision from the saved checkpoint and what is
 * on disk now (gathered by rotated.ts's lookAtDisk). No I/O here, so every case is unit-tested.
 *
 * - The input is the file we were reading and still holds what we read: resume in it.
 * - It is that file but was emptied in place (copytruncate) while we were stopped: read the rest
 *   from its copy first; without a copy the rest is lost (reported) and the live file is read from 0.
 * - It is another file (rename-and-create): finish the old one, found by inode, first.
 * - Nothing saved, or nothing found: the live file from 0.
 */

/** The input position of a checkpoint, decoded. */
export interface SavedInput {
  path: string;
  dev: number;
  ino: number;
  offset: number;
  /** The first bytes of the file and the bytes before `offset`, as read then. */
  head: Buffer;
  tail: Buffer;
}

/** An output file as a checkpoint saw it, or as it is now. */
export interface OutputRef {
  path: string;
  ino: number;
  size: number;
}

export interface SavedCheckpoint {
  input?: SavedInput;
  console?: OutputRef;
  query?: OutputRef;
}

export interface InputOnDisk {
  path: string;
  /** The file at `path` now; `holdsMark`: it holds the saved head, and the saved tail before the saved offset. */
  live?: { dev: number; ino: number; holdsMark: boolean };
  /** A file next to `path` with the saved inode: the input renamed away. */
  renamed?: string;
  /** A file next to `path`, not the live one, holding the saved head and tail: the copy after copytruncate. */
  copy?: string;
}

export interface DiskNow {
  input: InputOnDisk;
  console: { path: string; now?: { ino: number; size: number } };
  query: { path: string; now?: { ino: number; size: number } };
}

export interface ResumeDecision {
  /**
   * The file to read first and the offset in it. `rotated`: it is the renamed-away input or the
   * copy, read to its end before the live file from 0. When not `resumed`, the live file from 0 (if it exists).
   */
  read: { path: string; offset: number; rotated: boolean };
  /** The read starts at the checkpoint: the splitter starts at its offset, and the outputs skip bytes already in them. */
  resumed: boolean;
  /** The bytes after this offset were emptied in place with no readable copy: report them lost. */
  lostFrom?: number;
  /** Bytes at the end of each output written after the checkpoint, to drop from the replay (0 when not resumed). */
  consoleSkip: number;
  querySkip: number;
  /** The query log is not the one the saved seen set describes: every shape must be written again. */
  clearSeen: boolean;
  /** The saved position inside a long line does not apply to where reading starts. */
  resetMidLine: boolean;
}

/** Bytes appended to an output since the checkpoint, when it is still the same file (same path and inode, not shorter). */
function appendedSince(saved: OutputRef | undefined, now: DiskNow['console']): number | undefined {
  if (!saved || saved.path !== now.path) return undefined;
  if (!now.now || now.now.ino !== saved.ino || now.now.size < saved.size) return undefined;
  return now.now.size - saved.size;
}

export function decideResume(saved: SavedCheckpoint | undefined, disk: DiskNow): ResumeDecision {
  const input = disk.input;
  let read: ResumeDecision['read'] = { path: input.path, offset: 0, rotated: false };
  let resumed = false;
  let resetMidLine = false;
  let lostFrom: number | undefined;
  const at = saved?.input;
  if (at && at.path === input.path) {
    const live = input.live;
    const resumeIn = (path: string, rotated: boolean) => {
      read = { path, offset: at.offset, rotated };
      resumed = true;
    };
    if (live && live.ino === at.ino && live.dev === at.dev) {
      if (live.holdsMark) resumeIn(input.path, false);
      else if (input.copy) resumeIn(input.copy, true);
      else {
        lostFrom = at.offset;
        resetMidLine = true;
      }
    } else if (input.renamed) resumeIn(input.renamed, true);
    else resetMidLine = true;
  }
  const consoleKept = appendedSince(saved?.console, disk.console);
  const queryKept = appendedSince(saved?.query, disk.query);
  return {
    read,
    resumed,
    ...(lostFrom === undefined ? {} : { lostFrom }),
    consoleSkip: resumed ? (consoleKept ?? 0) : 0,
    querySkip: resumed ? (queryKept ?? 0) : 0,
    clearSeen: saved?.query !== undefined && queryKept === undefined,
    resetMidLine,
  };
}
