/**
 * Private-chat requests from other devices that wait for this device's answer (`y` or
 * `n`, optionally naming the device), oldest first.
 *
 * @module
 */

/** The waiting requests, by requesting device, oldest first. */
export class ChatRequests {
  readonly #waiting: string[] = [];

  /** How many requests wait. */
  get size(): number {
    return this.#waiting.length;
  }

  /** The device whose request has waited longest, which a bare `y` or `n` answers. */
  get oldest(): string | undefined {
    return this.#waiting[0];
  }

  /** The requesting devices, oldest first. */
  list(): readonly string[] {
    return this.#waiting;
  }

  /** Whether `device` has a request waiting. */
  has(device: string): boolean {
    return this.#waiting.includes(device);
  }

  /** Adds `device`'s request as the newest (a repeated request moves to the back). */
  add(device: string): void {
    this.drop(device);
    this.#waiting.push(device);
  }

  /**
   * Forgets `device`'s request.
   *
   * @returns whether there was one.
   */
  drop(device: string): boolean {
    const index = this.#waiting.indexOf(device);
    if (index < 0) return false;
    this.#waiting.splice(index, 1);
    return true;
  }
}
