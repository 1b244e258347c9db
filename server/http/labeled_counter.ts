/**
 * A counter with labels whose values come from small fixed sets (a command, a result, a
 * reason: never a device name), kept as plain numbers by key.
 *
 * @module
 */

import type { Sample } from "./prometheus_text.ts";

/** A counter per combination of label values. */
export class LabeledCounter<L extends string> {
  readonly #names: readonly L[];
  readonly #counts = new Map<string, { labels: Record<L, string>; value: number }>();

  /** @param names the label names, in order. */
  constructor(names: readonly L[]) {
    this.#names = names;
  }

  /** Adds `by` (default 1) to the counter of `labels`. */
  inc(labels: Record<L, string>, by = 1): void {
    let key = "";
    for (const name of this.#names) key += labels[name] + "\u0000";
    const entry = this.#counts.get(key);
    if (entry) entry.value += by;
    else this.#counts.set(key, { labels: { ...labels }, value: by });
  }

  /** The value for `labels` (0 if never counted). */
  get(labels: Record<L, string>): number {
    let key = "";
    for (const name of this.#names) key += labels[name] + "\u0000";
    return this.#counts.get(key)?.value ?? 0;
  }

  /** Every counted combination, for the exposition writer. */
  samples(): Sample[] {
    return [...this.#counts.values()].map(({ labels, value }) => ({ labels, value }));
  }
}
