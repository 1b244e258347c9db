import assert from "node:assert/strict";
import { escapeLabelValue, renderPrometheusText } from "./prometheus_text.ts";

Deno.test("a histogram's buckets are cumulative and end in +Inf, with sum and count", () => {
  const text = renderPrometheusText([{
    name: "x_seconds",
    help: "X.",
    type: "histogram",
    samples: [{ labels: { op: "a" }, bounds: [0.1, 1], counts: [2, 1, 3], sum: 7.5 }],
  }]);
  assert.equal(
    text,
    [
      "# HELP x_seconds X.",
      "# TYPE x_seconds histogram",
      'x_seconds_bucket{op="a",le="0.1"} 2',
      'x_seconds_bucket{op="a",le="1"} 3',
      'x_seconds_bucket{op="a",le="+Inf"} 6',
      'x_seconds_sum{op="a"} 7.5',
      'x_seconds_count{op="a"} 6',
      "",
    ].join("\n"),
  );
});

Deno.test("label values are escaped: backslash, quote, newline", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const text = renderPrometheusText([
    { name: "g", help: "line1\nline2", type: "gauge", samples: [{ labels: { v: '"' }, value: 1 }] },
  ]);
  assert.match(text, /^# HELP g line1\\nline2$/m);
  assert.match(text, /^g\{v="\\""\} 1$/m);
});

Deno.test("_total is for counters only, and every counter has it", () => {
  const c = { help: "h", samples: [{ value: 1 }] };
  assert.throws(
    () => renderPrometheusText([{ ...c, name: "requests", type: "counter" }]),
    /only counters, and all of them, end in _total/,
  );
  assert.throws(
    () => renderPrometheusText([{ ...c, name: "open_total", type: "gauge" }]),
    /only counters/,
  );
  assert.throws(
    () => renderPrometheusText([{ ...c, name: "bad-name_total", type: "counter" }]),
    /bad metric name/,
  );
  assert.throws(
    () =>
      renderPrometheusText([
        {
          name: "a_total",
          help: "h",
          type: "counter",
          samples: [{ labels: { "1x": "v" }, value: 1 }],
        },
      ]),
    /bad label name/,
  );
});

Deno.test("special values are written as the format spells them", () => {
  const text = renderPrometheusText([{
    name: "g",
    help: "h",
    type: "gauge",
    samples: [{ labels: { k: "a" }, value: NaN }, { labels: { k: "b" }, value: Infinity }],
  }]);
  assert.match(text, /^g\{k="a"\} NaN$/m);
  assert.match(text, /^g\{k="b"\} \+Inf$/m);
});
