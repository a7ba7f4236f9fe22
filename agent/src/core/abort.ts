/** Rejects as soon as `signal` aborts, running `onAbort` (e.g. destroy a socket) first. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal, onAbort?: () => void): Promise<T> {
  if (signal.aborted) {
    onAbort?.();
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const listener = () => {
      onAbort?.();
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', listener, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', listener); resolve(v); },
      (e) => { signal.removeEventListener('abort', listener); reject(e); },
    );
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** Human text for a duration in ms, as lines print it: 10s, 500ms, 2m. */
export function humanMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
