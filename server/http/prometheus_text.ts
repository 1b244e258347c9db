/**
 * The Prometheus text exposition format, version 0.0.4: metric families to text, pure.
 * A small writer rather than npm `prom-client` (docs/DECISIONS.md, "Metrics: a small
 * writer"): iotnet keeps its counters as plain numbers the device path increments, and
 * this renders them when scraped.
 *
 * @module
 */

/** The content type of {@linkcode renderPrometheusText}'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Label names and values of one sample. */
export type Labels = Readonly<Record<string, string>>;

/** One value of a counter or gauge. */
export interface Sample {
  labels?: Labels;
  value: number;
}

/** A histogram's state: cumulative counts per upper bound (`+Inf` added by the writer). */
export interface HistogramSample {
  labels?: Labels;
  /** Upper bounds, ascending. */
  bounds: readonly number[];
  /** Observations at or under each bound (cumulative), same length as `bounds`. */
  cumulative: readonly number[];
  count: number;
  sum: number;
}

/** One metric family. */
export type MetricFamily =
  | { name: string; help: string; type: "counter" | "gauge"; samples: readonly Sample[] }
  | { name: string; help: string; type: "histogram"; samples: readonly HistogramSample[] };

/**
 * Renders metric families as text format 0.0.4.
 *
 * @example
 * ```ts
 * import { renderPrometheusText } from "./prometheus_text.ts";
 * import assert from "node:assert/strict";
 * const text = renderPrometheusText([
 *   { name: "x_total", help: "Xs.", type: "counter", samples: [{ labels: { a: "b" }, value: 2 }] },
 * ]);
 * assert.equal(text, '# HELP x_total Xs.\n# TYPE x_total counter\nx_total{a="b"} 2\n');
 * ```
 */
export function renderPrometheusText(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const family of families) {
    out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    out.push(`# TYPE ${family.name} ${family.type}`);
    if (family.type === "histogram") {
      for (const h of family.samples) {
        h.bounds.forEach((bound, i) => {
          const le = { ...h.labels, le: formatValue(bound) };
          out.push(`${family.name}_bucket${formatLabels(le)} ${formatValue(h.cumulative[i]!)}`);
        });
        out.push(`${family.name}_bucket${formatLabels({ ...h.labels, le: "+Inf" })} ${h.count}`);
        out.push(`${family.name}_sum${formatLabels(h.labels)} ${formatValue(h.sum)}`);
        out.push(`${family.name}_count${formatLabels(h.labels)} ${h.count}`);
      }
    } else {
      for (const s of family.samples) {
        out.push(`${family.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
      }
    }
  }
  return out.join("\n") + "\n";
}

function formatLabels(labels: Labels | undefined): string {
  if (!labels) return "";
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}
