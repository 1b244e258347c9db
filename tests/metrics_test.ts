import assert from "node:assert/strict";
import { metricFamilies, ServerMetrics } from "../server/http/server_metrics.ts";
import { renderPrometheusText } from "../server/http/prometheus_text.ts";
import { promtoolCheck } from "./_helpers/promtool.ts";
import { skipWithout } from "./_helpers/required_tool.ts";

function busyMetrics(): string {
  const m = new ServerMetrics();
  m.logins.inc({ result: "ok" });
  m.logins.inc({ result: "bad_credentials" }, 3);
  m.command("upload", "ok", 0.004);
  m.command("compute", "not_found", 12);
  m.messages.inc({ kind: "broadcast" });
  m.refusals.inc({ reason: "max_pending_per_address" });
  m.logouts.inc({ reason: "idle" });
  m.uploads = 2;
  m.uploadBytes = 2048;
  m.online(5);
  m.eventLoopLag.observe(0.0004);
  m.eventLoopLag.observe(0.3);
  m.storeCommitDuration.observe(0.003);
  return renderPrometheusText(metricFamilies(m, {
    devicesOnline: 4,
    connectionsOpen: 6,
    diskOperationsWaiting: 7,
    residentMemoryBytes: 50e6,
    startTimeSeconds: 1.7e9,
    version: '0.1.0 "quoted"\\',
    stored: {
      accounts: 12,
      storedFiles: 3,
      storedSamples: 3_000_000,
      storedBytes: 21_000_000,
      offlineMessages: 4,
      lockouts: 1,
      lockoutsMore: false,
      at: 1.7e12,
    },
  }));
}

Deno.test({
  name: "metrics: promtool check metrics accepts the exposition, busy and fresh",
  ignore: skipWithout("promtool"),
  async fn() {
    for (
      const text of [
        busyMetrics(),
        renderPrometheusText(metricFamilies(new ServerMetrics(), {
          devicesOnline: 0,
          connectionsOpen: 0,
          diskOperationsWaiting: 0,
          residentMemoryBytes: 1,
          startTimeSeconds: 1,
          version: "0.1.0",
          stored: undefined,
        })),
      ]
    ) {
      const { code, output } = await promtoolCheck(text);
      assert.equal(output, "", `promtool found problems:\n${output}`);
      assert.equal(code, 0);
    }
  },
});

Deno.test({
  name: "metrics: promtool catches a broken exposition (the check can fail)",
  ignore: skipWithout("promtool"),
  async fn() {
    const { code } = await promtoolCheck('# TYPE x counter\nx{a="b} 1\n');
    assert.notEqual(code, 0);
  },
});

Deno.test("metrics: the SPEC's names are there with their types, histogram buckets cumulative", () => {
  const text = busyMetrics();
  for (
    const [name, type] of [
      ["iotnet_devices_online", "gauge"],
      ["iotnet_logins_total", "counter"],
      ["iotnet_uploads_total", "counter"],
      ["iotnet_upload_bytes_total", "counter"],
      ["iotnet_messages_total", "counter"],
      ["iotnet_commands_total", "counter"],
      ["iotnet_command_duration_seconds", "histogram"],
      ["iotnet_event_loop_lag_seconds", "histogram"],
      ["iotnet_store_commit_duration_seconds", "histogram"],
      ["iotnet_disk_operations_waiting", "gauge"],
      ["iotnet_accounts", "gauge"],
      ["iotnet_stored_files", "gauge"],
      ["iotnet_stored_samples", "gauge"],
      ["iotnet_stored_bytes", "gauge"],
      ["iotnet_offline_messages", "gauge"],
      ["iotnet_lockouts", "gauge"],
      ["process_resident_memory_bytes", "gauge"],
    ]
  ) {
    assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, "m"));
  }
  assert.match(text, /^iotnet_logins_total\{result="bad_credentials"\} 3$/m);
  assert.match(text, /^iotnet_commands_total\{command="compute",result="not_found"\} 1$/m);
  assert.match(text, /^iotnet_command_duration_seconds_bucket\{le="0.005"\} 1$/m);
  assert.match(text, /^iotnet_command_duration_seconds_bucket\{le="10"\} 1$/m);
  assert.match(text, /^iotnet_command_duration_seconds_bucket\{le="\+Inf"\} 2$/m);
  assert.match(text, /^iotnet_devices_online_max 5$/m);
  assert.match(text, /^iotnet_event_loop_lag_seconds_bucket\{le="0.001"\} 1$/m);
  assert.match(text, /^iotnet_event_loop_lag_seconds_bucket\{le="0.25"\} 1$/m);
  assert.match(text, /^iotnet_event_loop_lag_seconds_bucket\{le="0.5"\} 2$/m);
  assert.match(text, /^iotnet_event_loop_lag_seconds_count 2$/m);
  assert.match(text, /^iotnet_store_commit_duration_seconds_bucket\{le="0.0025"\} 0$/m);
  assert.match(text, /^iotnet_store_commit_duration_seconds_bucket\{le="0.005"\} 1$/m);
  assert.match(text, /^iotnet_store_commit_duration_seconds_sum 0.003$/m);
  assert.match(text, /^iotnet_disk_operations_waiting 7$/m);
  assert.match(text, /^iotnet_accounts 12$/m);
  assert.match(text, /^iotnet_stored_files 3$/m);
  assert.match(text, /^iotnet_stored_samples 3000000$/m);
  assert.match(text, /^iotnet_stored_bytes 21000000$/m);
  assert.match(text, /^iotnet_offline_messages 4$/m);
  assert.match(text, /^iotnet_lockouts 1$/m);
  // Prometheus naming: base units (seconds, bytes), _total only and always on counters.
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    assert.equal(name!.endsWith("_total"), type === "counter", `${name} is a ${type}`);
    assert.doesNotMatch(name!, /_(milliseconds|ms|kilobytes|percent)\b/, name);
  }
  assert.match(text, /^iotnet_build_info\{version="0.1.0 \\"quoted\\"\\\\"\} 1$/m);
});
