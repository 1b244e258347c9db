/**
 * Serialises async work by key (a file path): work on one key runs one at a time, in
 * order; different keys never wait for each other.
 *
 * @module
 */

/** Runs `work` once every earlier holder of `key` in `locks` is done. */
export async function withLock<T>(
  locks: Map<string, Promise<void>>,
  key: string,
  work: () => Promise<T>,
): Promise<T> {
  const previous = locks.get(key);
  let release!: () => void;
  const mine = new Promise<void>((resolve) => release = resolve);
  const tail = (previous ?? Promise.resolve()).then(() => mine);
  locks.set(key, tail);
  try {
    await previous;
    return await work();
  } finally {
    release();
    if (locks.get(key) === tail) locks.delete(key);
  }
}
