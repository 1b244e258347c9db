/**
 * Buffers of one size, handed out and taken back: a busy server reuses them instead of
 * allocating, zero-filling and collecting a fresh one for every upload.
 *
 * @module
 */

/** A pool of `size`-byte buffers that keeps at most `spare` of them unused. */
export class BufferPool {
  /** Bytes in each buffer. */
  readonly size: number;
  /** Most unused buffers kept; one given back beyond that is left to the collector. */
  readonly spare: number;
  readonly #free: ArrayBuffer[] = [];

  /**
   * Makes an empty pool.
   *
   * @param size bytes in each buffer.
   * @param spare most unused buffers kept.
   */
  constructor(size: number, spare: number) {
    this.size = size;
    this.spare = spare;
  }

  /** Buffers waiting to be taken. */
  get free(): number {
    return this.#free.length;
  }

  /** A buffer of {@linkcode size} bytes, reused if one is free. Its content is undefined. */
  take(): Uint8Array {
    const free = this.#free.pop();
    return free ? new Uint8Array(free) : new Uint8Array(this.size);
  }

  /**
   * Takes back the buffer that `view` (or any part of it) came from; the caller must not
   * touch it again. Buffers of another size, and spares beyond the limit, are left to
   * the garbage collector.
   */
  give(view: Uint8Array): void {
    const buffer = view.buffer;
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength !== this.size) return;
    if (this.#free.length < this.spare && !this.#free.includes(buffer)) this.#free.push(buffer);
  }
}
