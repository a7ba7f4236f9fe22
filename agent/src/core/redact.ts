/** Removes every occurrence of the given secrets from a text before it reaches a line or an error. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length > 0) out = out.split(s).join('****');
  return out;
}

/** A short, single-line reason from any thrown value, with secrets removed. */
export function reasonOf(e: unknown, secrets: readonly (string | undefined)[] = []): string {
  let msg: string;
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    msg = e.message || code || e.name;
    // AggregateError from dual-stack connects has an empty message; its code says enough.
    if (!e.message && code) msg = code;
  } else {
    msg = String(e);
  }
  return redact(msg.replace(/\s+/g, ' ').trim(), secrets);
}
