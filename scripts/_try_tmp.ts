import { runLoad } from "./bench/load.ts";
import { DashboardWatch, type WatchStats } from "./bench/dashboard_watch.ts";
const watches: WatchStats[] = [];
const report = await runLoad({
  devices: 100,
  samples: 1000,
  burst: 5,
  progress: (l) => console.log(l),
  watch: {
    attach: async ({ base, token }) => {
      const w = await DashboardWatch.attach(base, token);
      return async () => void watches.push(await w.detach());
    },
  },
});
console.log(
  report.figures.map((f) => `${f.figure}: ${f.measured} ${f.p99Ms ?? ""}`).join("\n"),
  report.failedSteps,
  report.failures,
);
for (const w of watches) {
  console.log({
    ...w,
    scrapes: w.scrapes.map((s) => `${s.atMs.toFixed(0)}:${s.ms.toFixed(1)}:${s.status}:${s.bytes}`),
    deviceListMs: w.deviceListMs.map((x) => x.toFixed(1)),
  });
}
