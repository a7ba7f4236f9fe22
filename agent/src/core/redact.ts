/** Removes every occurrence of the given secrets from a text before it reaches a line or an error. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  // Longest first: one secret can contain another (base64 of "user:password" contains base64
  // of the password when "user:" is a multiple of 3 bytes), and the longer must go whole.
  const bySize = secrets.filter((s): s is string => !!s).sort((a, b) => b.length - a.length);
  for (const s of bySize) out = out.split(s).join('****');
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
