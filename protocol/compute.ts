/**
 * The four SCS operations over stored aggregates, exact: SUM is a bigint, AVERAGE a
 * decimal rounded half away from zero to {@linkcode AVERAGE_DECIMALS} places with
 * trailing zeros dropped.
 *
 * @module
 */

import type { SampleAggregates } from "./samples.ts";

/** The operations SCS accepts. */
export const OPERATIONS = ["SUM", "AVERAGE", "MAX", "MIN"] as const;
/** One of {@linkcode OPERATIONS}. */
export type Operation = typeof OPERATIONS[number];
/** Fractional digits of an AVERAGE. */
export const AVERAGE_DECIMALS = 6;

/** Tells whether `value` names an operation (upper case, as typed). */
export function isOperation(value: string): value is Operation {
  return (OPERATIONS as readonly string[]).includes(value);
}

/**
 * Computes one operation.
 *
 * @returns the exact result as a decimal string.
 * @example
 * ```ts
 * import { compute } from "./compute.ts";
 * import assert from "node:assert/strict";
 * const agg = { count: 3, sum: 10n, min: 1, max: 6 };
 * assert.equal(compute("AVERAGE", agg), "3.333333");
 * assert.equal(compute("SUM", agg), "10");
 * ```
 */
export function compute(operation: Operation, aggregates: SampleAggregates): string {
  switch (operation) {
    case "SUM":
      return aggregates.sum.toString();
    case "MAX":
      return String(aggregates.max);
    case "MIN":
      return String(aggregates.min);
    case "AVERAGE":
      return divideToDecimal(aggregates.sum, BigInt(aggregates.count), AVERAGE_DECIMALS);
  }
}

/**
 * `numerator / denominator` as a decimal string with at most `decimals` places, rounded
 * half away from zero.
 */
export function divideToDecimal(numerator: bigint, denominator: bigint, decimals: number): string {
  const scale = 10n ** BigInt(decimals);
  const negative = (numerator < 0n) !== (denominator < 0n) && numerator !== 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const scaled = (n * scale * 2n + d) / (2n * d);
  const whole = scaled / scale;
  const fraction = (scaled % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  const text = fraction ? `${whole}.${fraction}` : `${whole}`;
  return negative && scaled !== 0n ? `-${text}` : text;
}
