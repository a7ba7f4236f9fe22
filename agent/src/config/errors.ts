/** A config or usage problem: the CLI prints it and exits 2. */
export class ConfigError extends Error {
  readonly exitCode = 2;
  constructor(message: string, readonly problems: readonly string[] = [message]) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Renders a zod-style path: ["checks","mysql",0,"slaves",1] → checks.mysql[0].slaves[1]. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out || '(root)';
}
