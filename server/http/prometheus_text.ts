/**
 * The Prometheus text exposition format, version 0.0.4, as a pure writer: metric families
 * in, text out. A small writer rather than npm `prom-client` (docs/DECISIONS.md, "Metrics
 * writer"): the server keeps its own plain counters and renders them here at most once a
 * second.
 *
 * @module
 */

/** The content type of {@linkcode renderPrometheusText}'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Label name to value; values may be any text (escaped on output). */
export type Labels = Readonly<Record<string, string>>;

/** One sample of a counter or gauge. */
export interface Sample {
  labels?: Labels;
  value: number;
}

/** One series of a histogram: cumulative counts per upper bound, sum and count. */
export interface HistogramSample {
  labels?: Labels;
  /** Upper bounds, ascending, without `+Inf`. */
  bounds: readonly number[];
  /** Observations at or below each bound (not cumulative: one count per bucket), then above the last. */
  counts: readonly number[];
  sum: number;
}

/** A metric family: its name, help text, type and samples. */
export type MetricFamily =
  | { name: string; help: string; type: "counter" | "gauge"; samples: readonly Sample[] }
  | { name: string; help: string; type: "histogram"; samples: readonly HistogramSample[] };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Renders families as exposition text. Counters must be named `*_total`, and nothing else
 * may be: the Prometheus naming rules, checked here so a mistake fails the writer's tests
 * rather than a scrape.
 *
 * @throws {RangeError} on a bad metric or label name, a counter not named `*_total` or a
 *   gauge or histogram that is.
 * @example
 * ```ts
 * import { renderPrometheusText } from "./prometheus_text.ts";
 * import assert from "node:assert/strict";
 * const text = renderPrometheusText([
 *   { name: "up_total", help: "Starts.", type: "counter", samples: [{ value: 1 }] },
 * ]);
 * assert.equal(text, "# HELP up_total Starts.\n# TYPE up_total counter\nup_total 1\n");
 * ```
 */
export function renderPrometheusText(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    const { name, type } = family;
    if (!METRIC_NAME.test(name)) throw new RangeError(`bad metric name ${JSON.stringify(name)}`);
    if ((type === "counter") !== name.endsWith("_total")) {
      throw new RangeError(`${name}: only counters, and all of them, end in _total`);
    }
    lines.push(`# HELP ${name} ${escapeHelp(family.help)}`, `# TYPE ${name} ${type}`);
    if (family.type === "histogram") {
      for (const s of family.samples) lines.push(...histogramLines(name, s));
    } else {
      for (const s of family.samples) lines.push(`${name}${labelText(s.labels)} ${num(s.value)}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

function histogramLines(name: string, s: HistogramSample): string[] {
  if (s.counts.length !== s.bounds.length + 1) {
    throw new RangeError(`${name}: ${s.bounds.length} bounds need ${s.bounds.length + 1} counts`);
  }
  const lines: string[] = [];
  let cumulative = 0;
  s.bounds.forEach((bound, i) => {
    cumulative += s.counts[i]!;
    lines.push(`${name}_bucket${labelText(s.labels, ["le", num(bound)])} ${cumulative}`);
  });
  cumulative += s.counts[s.bounds.length]!;
  lines.push(`${name}_bucket${labelText(s.labels, ["le", "+Inf"])} ${cumulative}`);
  lines.push(`${name}_sum${labelText(s.labels)} ${num(s.sum)}`);
  lines.push(`${name}_count${labelText(s.labels)} ${cumulative}`);
  return lines;
}

function labelText(labels: Labels | undefined, extra?: [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return "";
  return `{${
    pairs.map(([k, v]) => {
      if (!LABEL_NAME.test(k) || k.startsWith("__")) {
        throw new RangeError(`bad label name ${JSON.stringify(k)}`);
      }
      return `${k}="${escapeLabelValue(v)}"`;
    }).join(",")
  }}`;
}

/** A label value as the format wants it: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function escapeHelp(help: string): string {
  return help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function num(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
