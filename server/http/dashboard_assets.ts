/**
 * The fleet overview page at `/`, its script and its style, as text in the module graph (so
 * `deno compile` embeds them and nothing is read from disk). The page holds no inline script
 * or style (the CSP allows neither); the script puts device data into the page only through
 * `textContent`, so text from devices is shown as text, never as markup.
 *
 * @module
 */

import { dashboardPage, DEVICE_ROW_JS } from "./dashboard_page.ts";

/** `/`: the overview page. */
export const DASHBOARD_HTML = dashboardPage({
  title: "iotnet fleet",
  status: "connecting…",
  scripts: ["/dashboard.js"],
  header: `<form method="post" action="/logout"><button type="submit">Log out</button></form>
`,
  body: `<section class="tiles">
<div><b id="online">–</b><span>online now</span></div>
<div><b id="onlineMax">–</b><span>most online at once</span></div>
<div><b id="accounts">–</b><span>accounts</span></div>
<div><b id="connections">–</b><span>connections since start</span></div>
<div><b id="logins">–</b><span>logins</span></div>
<div><b id="failedLogins">–</b><span>failed logins</span></div>
<div><b id="lockouts">–</b><span>names locked out now</span></div>
<div><b id="uploadsLastHour">–</b><span>uploads in the last hour</span></div>
<div><b id="uploadBytesLastHour">–</b><span>bytes uploaded in the last hour</span></div>
<div><b id="uploads">–</b><span>uploads</span></div>
<div><b id="uploadBytes">–</b><span>bytes uploaded</span></div>
<div><b id="storedFiles">–</b><span>files stored</span></div>
<div><b id="storedSamples">–</b><span>samples stored</span></div>
<div><b id="storedBytes">–</b><span>bytes stored</span></div>
<div><b id="messages">–</b><span>messages</span></div>
<div><b id="offlineMessages">–</b><span>offline messages waiting</span></div>
<div><b id="eventLoopLag">–</b><span>event-loop lag, worst in the last 10 s</span></div>
</section>
<h2>Devices online <small id="shown"></small></h2>
<table>
<thead><tr><th>device</th><th>online since</th><th>IP</th><th>UDP port</th></tr></thead>
<tbody id="devices"></tbody>
</table>
<p class="links"><a href="/devices">every device online</a>, searched and paged;
<a href="/api/devices">/api/devices</a> (JSON, paged: q, offset, limit)</p>
`,
});

/** `/dashboard.js`: renders each `overview` event of `/events`. */
export const DASHBOARD_JS = `"use strict";
(() => {
  /** The devices the table shows, as the overview gave them (JSON). */
  let shownDevices = "";
  const source = new EventSource("/events");
  const status = document.getElementById("status");
  source.addEventListener("open", () => { status.textContent = "live"; });
  source.addEventListener("error", () => { status.textContent = "reconnecting…"; });
  source.addEventListener("overview", (event) => render(JSON.parse(event.data)));

  function show(id, text) {
    document.getElementById(id).textContent = String(text);
  }

${DEVICE_ROW_JS}
  function render(o) {
    for (const key of ["online", "onlineMax", "connections", "logins", "failedLogins", "uploads", "uploadBytes", "uploadsLastHour", "uploadBytesLastHour", "messages"]) {
      show(key, o[key].toLocaleString("en"));
    }
    // The store's figures are read every few seconds; null until the first read.
    const stored = o.stored;
    for (const key of ["accounts", "storedFiles", "storedSamples", "storedBytes", "offlineMessages"]) {
      show(key, stored ? stored[key].toLocaleString("en") : "–");
    }
    show("lockouts", stored ? stored.lockouts.toLocaleString("en") + (stored.lockoutsMore ? "+" : "") : "–");
    show("eventLoopLag", o.eventLoopLagMs.toLocaleString("en", { maximumFractionDigits: 1 }) + " ms");
    show("shown", o.devices.length < o.online ? "(first " + o.devices.length + " of " + o.online + ")" : "");
    // The table is rebuilt only when the devices changed: a row clicked (or selected) stays put.
    const devices = JSON.stringify(o.devices);
    if (devices !== shownDevices) showDevices(o.devices);
    shownDevices = devices;
    document.body.dataset.updated = String(Date.now());
  }

  function showDevices(devices) {
    const rows = devices.map((d) =>
      deviceRow(d.name, [new Date(d.since).toLocaleString(), d.ip, d.udpPort])
    );
    document.getElementById("devices").replaceChildren(...rows);
  }
})();
`;

/** `/dashboard.css`. */
export const DASHBOARD_CSS =
  `body { font: 15px/1.4 system-ui, sans-serif; margin: 0 2rem 2rem; color: #1d2430; }
header { display: flex; align-items: center; gap: 1rem; }
header form { margin-left: auto; }
nav a { margin-right: .6rem; }
.event-login_failed td, .event-lockout td, .event-refused td { color: #b42318; }
#status { color: #5b6b7f; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr)); gap: .75rem; }
.tiles div { background: #f1f4f8; border-radius: 6px; padding: .75rem; }
.tiles b { display: block; font-size: 1.6rem; }
.tiles span { color: #5b6b7f; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e8ef; }
.links { color: #5b6b7f; }
h1 a { color: inherit; text-decoration: none; }
figure { margin: 1rem 0; }
.counts { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: 1.5rem; }
figcaption { color: #5b6b7f; margin-bottom: .25rem; }
`;
