/**
 * Events a {@linkcode PeerEndpoint} reports, as one typed map, and a tiny emitter.
 *
 * @module
 */

/** A file transfer to this device was admitted and started. */
export interface FileStartedEvent {
  /** The sending device. */
  from: string;
  /** The file name as the sender gave it. */
  filename: string;
  /** Announced size. */
  bytes: number;
  /**
   * Where the file is meant to be stored once verified; the {@linkcode FileEvent}'s
   * `path` is where it was (a numbered name if this one was taken by then).
   */
  path: string;
  /** The transfer id (hex), as in the ticket. */
  transferId: string;
}
/**
 * A file arrived, was verified (SHA-256) and stored under `path`: `<sender>_<filename>`,
 * or `<sender>_<stem> (n).<ext>` when that name was taken (nothing is ever replaced).
 */
export interface FileEvent {
  /** The sending device. */
  from: string;
  /** Where the file was stored. */
  path: string;
  /** Its size. */
  bytes: number;
  /** Lower-case hex SHA-256. */
  sha256: string;
  /** The transfer id (hex), as in the ticket. */
  transferId: string;
}
/** An admitted incoming transfer failed; nothing was stored under its final name. */
export interface FileFailedEvent {
  /** The sending device. */
  from: string;
  /** The file name as the sender gave it. */
  filename: string;
  /** Stable reason (`stalled`, `cancelled`, `unwritable`, `disk_full`, ...). */
  reason: string;
  /** Human text. */
  message: string;
  /** The transfer id (hex), as in the ticket. */
  transferId: string;
}
/** A private-chat message arrived. */
export interface ChatEvent {
  /** The partner who wrote it. */
  from: string;
  /** The chat's id (hex). */
  chatId: string;
  /** The message. */
  text: string;
}

/** Every endpoint event by name. */
export interface PeerEventMap {
  /** An incoming transfer was admitted. */
  file_started: FileStartedEvent;
  /** An incoming file was verified and stored. */
  file: FileEvent;
  /** An incoming transfer failed. */
  file_failed: FileFailedEvent;
  /** A private-chat message arrived. */
  chat: ChatEvent;
}

/** A typed emitter of {@linkcode PeerEventMap} events. Listener errors are isolated. */
export class PeerEvents {
  #listeners = new Map<keyof PeerEventMap, Set<(e: never) => void>>();

  /**
   * Subscribes to one event.
   *
   * @param type the event name.
   * @param fn the listener.
   * @returns a function that unsubscribes.
   */
  on<K extends keyof PeerEventMap>(type: K, fn: (e: PeerEventMap[K]) => void): () => void {
    let set = this.#listeners.get(type);
    if (!set) this.#listeners.set(type, set = new Set());
    set.add(fn as (e: never) => void);
    return () => set.delete(fn as (e: never) => void);
  }

  /**
   * Resolves with the next event of a type that matches `filter`.
   *
   * @param type the event name.
   * @param filter optional predicate.
   * @param signal optional AbortSignal (e.g. `AbortSignal.timeout(5000)`).
   * @throws {DOMException} `AbortError`/`TimeoutError` from the signal.
   */
  once<K extends keyof PeerEventMap>(
    type: K,
    filter: (e: PeerEventMap[K]) => boolean = () => true,
    signal?: AbortSignal,
  ): Promise<PeerEventMap[K]> {
    return new Promise((resolve, reject) => {
      const off = this.on(type, (e) => {
        if (!filter(e)) return;
        off();
        signal?.removeEventListener("abort", onAbort);
        resolve(e);
      });
      const onAbort = () => {
        off();
        reject(signal!.reason);
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Delivers an event to every listener of its type.
   *
   * @param type the event name.
   * @param e the event.
   */
  emit<K extends keyof PeerEventMap>(type: K, e: PeerEventMap[K]): void {
    for (const fn of this.#listeners.get(type) ?? []) {
      try {
        (fn as (e: PeerEventMap[K]) => void)(e);
      } catch (err) {
        // A listener's bug must not break the transport.
        console.error(`iotnet p2p: a "${type}" listener threw:`, err);
      }
    }
  }
}
