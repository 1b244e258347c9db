/**
 * The security page at `/security` and its script, as text in the module graph: running
 * lockouts with the time left, names whose last logins failed, and logins, refused
 * connections and logouts by reason, read from `/api/security` (`security_view.ts`) at once
 * and every {@linkcode SECURITY_REFRESH_MS} ms. No inline script or style (the CSP allows
 * neither); text is put in with `textContent` only.
 *
 * @module
 */

import { dashboardPage } from "./dashboard_page.ts";

/** How often the page reads `/api/security` again, in ms. */
export const SECURITY_REFRESH_MS = 5_000;

/** `/security`. */
export const SECURITY_HTML = dashboardPage({
  title: "iotnet security",
  heading: "security",
  status: "loading…",
  scripts: ["/security.js"],
  body: `<h2>Lockouts <small id="lockoutsShown"></small></h2>
<table>
<thead><tr><th>device name</th><th>blocked until</th><th>time left</th></tr></thead>
<tbody id="lockouts"></tbody>
</table>
<h2>Recent failed logins</h2>
<table>
<thead><tr><th>device name</th><th>failures in a row</th><th>last failure</th></tr></thead>
<tbody id="failedLogins"></tbody>
</table>
<section class="counts">
<div><h2>Logins</h2><table><tbody id="logins"></tbody></table></div>
<div><h2>Refused connections</h2><table><tbody id="refusals"></tbody></table></div>
<div><h2>Logouts</h2><table><tbody id="logouts"></tbody></table></div>
</section>
`,
});

/** `/security.js`. */
export const SECURITY_JS = `"use strict";
(() => {
  load();
  setInterval(load, ${SECURITY_REFRESH_MS});

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = String(text);
    return td;
  }

  function rows(id, items, key, cells) {
    document.getElementById(id).replaceChildren(...items.map((item) => {
      const tr = document.createElement("tr");
      tr.dataset.key = String(item[key]);
      tr.append(...cells(item).map(cell));
      return tr;
    }));
  }

  function left(seconds) {
    const m = Math.floor(seconds / 60);
    return (m > 0 ? m + " min " : "") + (seconds % 60) + " s";
  }

  function counts(id, record) {
    const items = Object.entries(record).map(([k, v]) => ({ k, v }));
    rows(id, items, "k", (i) => [i.k.replaceAll("_", " "), i.v.toLocaleString("en")]);
  }

  async function load() {
    try {
      const answer = await fetch("/api/security");
      if (!answer.ok) throw new Error((await answer.text()).trim());
      const s = await answer.json();
      rows("lockouts", s.lockouts, "name", (l) => [l.name, new Date(l.until).toLocaleString(), left(l.secondsLeft)]);
      document.getElementById("lockoutsShown").textContent = s.lockoutsMore
        ? "(the " + s.lockouts.length + " that end last)" : "(" + s.lockouts.length + ")";
      rows("failedLogins", s.failedLogins, "name", (f) => [f.name, f.failures, new Date(f.at).toLocaleString()]);
      counts("logins", s.logins);
      counts("refusals", s.refusals);
      counts("logouts", s.logouts);
      document.getElementById("status").textContent = "";
      document.body.dataset.updated = String(Date.now());
    } catch (error) {
      document.getElementById("status").textContent = "cannot load: " + error.message;
    }
  }
})();
`;
