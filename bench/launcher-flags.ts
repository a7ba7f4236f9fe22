import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../test/harness/proc.js';

/** The V8 flags the shipped launcher (bin/imom.js) runs node with, read from its shebang. */
export function launcherFlags(): string[] {
  const first = readFileSync(join(REPO_ROOT, 'bin/imom.js'), 'utf8').split('\n')[0]!;
  return first.split(/\s+/).filter((w) => w.startsWith('--'));
}
