/**
 * The device page at `/devices/<name>` and its script, as text in the module graph. The
 * script reads `/api/devices/<name>` (`device_api.ts`: presence, the latest visits, files)
 * and each file's plot summary
 * (`/api/files/<name>/<id>/plot`) and draws one zoomable uPlot chart per file: the smallest
 * and largest sample of each bucket, so a one-sample spike stays visible. No inline script
 * or style (the CSP allows neither); text is put in with `textContent` only.
 *
 * @module
 */

import { dashboardPage } from "./dashboard_page.ts";

/** `/devices/<name>`: the same page for every name; its script reads the name from the path. */
export const DEVICE_HTML = dashboardPage({
  title: "iotnet device",
  heading: `<span id="name"></span>`,
  status: "loading…",
  styles: ["/uplot.css"],
  scripts: ["/uplot.js", "/device.js"],
  body: `<section class="tiles">
<div><b id="presence">–</b><span>now</span></div>
<div><b id="since">–</b><span>online since</span></div>
<div><b id="lastSeen">–</b><span>last seen</span></div>
<div><b id="ip">–</b><span>IP</span></div>
<div><b id="udpPort">–</b><span>UDP port</span></div>
</section>
<h2>Presence history <small id="visitsShown"></small></h2>
<table>
<thead><tr><th>logged in</th><th>left</th><th>online for</th><th>why it left</th><th>IP</th></tr></thead>
<tbody id="visits"></tbody>
</table>
<h2>Files <small id="more"></small></h2>
<table>
<thead><tr><th>file</th><th>samples</th><th>sum</th><th>min</th><th>max</th><th>bytes</th><th>uploaded at</th></tr></thead>
<tbody id="files"></tbody>
</table>
<p class="links">Each plot shows the smallest and largest sample of each bucket. Drag to zoom, double-click to zoom out.</p>
<div id="plots"></div>
`,
});

/** `/device.js`. */
export const DEVICE_JS = `"use strict";
(() => {
  const name = decodeURIComponent(location.pathname.slice("/devices/".length));
  const api = "/api/devices/" + encodeURIComponent(name);
  document.title = name + " · iotnet";
  show("name", name);
  load().catch((error) => show("status", "cannot load: " + error.message));

  function show(id, text) {
    document.getElementById(id).textContent = String(text);
  }

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = String(text);
    return td;
  }

  function when(iso) {
    return iso === null ? "never" : new Date(iso).toLocaleString();
  }

  function duration(seconds) {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    return h > 0 ? h + " h " + m + " min" : m > 0 ? m + " min " + s + " s" : s + " s";
  }

  async function load() {
    const answer = await fetch(api);
    if (!answer.ok) {
      show("status", (await answer.text()).trim());
      return;
    }
    const d = await answer.json();
    show("presence", d.online ? "online" : "offline");
    show("since", d.online ? when(d.online.since) : "–");
    show("lastSeen", d.online ? "now" : when(d.lastSeen));
    show("ip", d.online ? d.online.ip : "–");
    show("udpPort", d.online ? d.online.udpPort : "–");
    show("visitsShown", "(the latest " + d.visits.length + ")");
    document.getElementById("visits").replaceChildren(...d.visits.map((v) => {
      const tr = document.createElement("tr");
      tr.dataset.since = v.since;
      tr.append(
        cell(when(v.since)),
        cell(v.current ? "online now" : v.until === null ? "not recorded" : when(v.until)),
        cell(v.seconds === null ? "–" : duration(v.seconds)),
        cell(v.reason === null ? "–" : v.reason.replaceAll("_", " ")),
        cell(v.ip),
      );
      return tr;
    }));
    show("more", d.more ? "(the first " + d.files.length + ")" : "(" + d.files.length + ")");
    document.getElementById("files").replaceChildren(...d.files.map((f) => {
      const tr = document.createElement("tr");
      tr.dataset.file = String(f.fileID);
      tr.append(
        cell(f.fileID),
        cell(f.count.toLocaleString("en")),
        cell(f.sum),
        cell(f.min.toLocaleString("en")),
        cell(f.max.toLocaleString("en")),
        cell(f.bytes.toLocaleString("en")),
        cell(when(f.uploadedAt)),
      );
      return tr;
    }));
    show("status", "");
    for (const f of d.files) await plot(f.fileID);
    document.body.dataset.loaded = "true";
  }

  async function plot(fileID) {
    const figure = document.createElement("figure");
    figure.dataset.file = String(fileID);
    const caption = document.createElement("figcaption");
    caption.textContent = "file " + fileID;
    figure.append(caption);
    document.getElementById("plots").append(figure);
    const answer = await fetch("/api/files/" + encodeURIComponent(name) + "/" + fileID + "/plot");
    if (!answer.ok) {
      caption.textContent = "file " + fileID + ": " + (await answer.text()).trim();
      return;
    }
    const p = await answer.json();
    caption.textContent = "file " + fileID + ": " + p.count.toLocaleString("en") + " samples" +
      (p.width > 1 ? ", " + p.width + " per bucket" : "");
    const xs = p.min.map((_, i) => i * p.width);
    figure.uplot = new uPlot({
      width: Math.max(320, document.getElementById("plots").clientWidth - 16),
      height: 260,
      scales: { x: { time: false } },
      series: [
        { label: "sample" },
        { label: "min", stroke: "#2b6cb0", width: 1 },
        { label: "max", stroke: "#c53030", width: 1 },
      ],
      axes: [{}, { size: axisSize }],
    }, [xs, p.min, p.max], figure);
  }

  // uPlot's default y-axis width cuts off long labels such as "-4,000": measure the longest.
  function axisSize(self, values, axisIdx, cycleNum) {
    const axis = self.axes[axisIdx];
    if (cycleNum > 1) return axis._size;
    let size = axis.ticks.size + axis.gap;
    const longest = (values ?? []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), "");
    if (longest !== "") {
      self.ctx.font = axis.font[0];
      size += self.ctx.measureText(longest).width / devicePixelRatio;
    }
    return Math.ceil(size) + 4;
  }
})();
`;
