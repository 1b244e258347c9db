/**
 * The devices page at `/devices` and its script, as text in the module graph: the devices
 * online now, a page at a time, searched by name, read from `/api/devices`
 * (`devices_api.ts`: paged and searched on the server) with each device's files, latest
 * upload, offline messages waiting and running lockout. The search box asks the server
 * {@linkcode DEVICES_SEARCH_DEBOUNCE_MS} ms after the last key; previous / next move by a
 * page; the page reads `q`, `offset` and `limit` from its own address and keeps them there,
 * so a reload or a shared link shows the same page. It reads the page again every
 * {@linkcode DEVICES_REFRESH_MS} ms. Each name links to the device page `/devices/<name>`.
 * No inline script or style (the CSP allows neither); text is put in with `textContent` only.
 *
 * @module
 */

import { dashboardPage, DEVICE_ROW_JS } from "./dashboard_page.ts";
import { DEFAULT_PAGE_DEVICES, MAX_DEVICE_QUERY_CHARS, MAX_PAGE_DEVICES } from "./devices_api.ts";

/** How long after the last key the search is sent, in ms. */
export const DEVICES_SEARCH_DEBOUNCE_MS = 250;
/** How often the page reads its devices again, in ms. */
export const DEVICES_REFRESH_MS = 5_000;

/** `/devices`. */
export const DEVICES_HTML = dashboardPage({
  title: "iotnet devices",
  heading: "devices",
  status: "loading…",
  scripts: ["/devices.js"],
  body:
    `<p class="links"><label>Search names <input id="search" type="search" maxlength="${MAX_DEVICE_QUERY_CHARS}" autocomplete="off"></label>
<button id="previous" type="button" disabled>previous</button>
<button id="next" type="button" disabled>next</button>
<span id="shown"></span></p>
<table>
<thead><tr><th>device</th><th>online since</th><th>IP</th><th>UDP port</th><th>files</th><th>last upload</th><th>messages waiting</th><th>locked until</th></tr></thead>
<tbody id="devices"></tbody>
</table>
<p class="links"><a href="/api/devices">/api/devices</a> (JSON, paged: q, offset, limit)</p>
`,
});

/** `/devices.js`. */
export const DEVICES_JS = `"use strict";
(() => {
  const search = document.getElementById("search");
  const status = document.getElementById("status");
  const previous = document.getElementById("previous");
  const next = document.getElementById("next");
  const start = new URLSearchParams(location.search);
  const limit = whole(start.get("limit"), ${DEFAULT_PAGE_DEVICES}, 1, ${MAX_PAGE_DEVICES});
  let offset = whole(start.get("offset"), 0, 0, Number.MAX_SAFE_INTEGER);
  let total = 0;
  /** Each load's number: an answer to an older one is dropped. */
  let asked = 0;
  let typing;
  search.value = (start.get("q") ?? "").slice(0, ${MAX_DEVICE_QUERY_CHARS});
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { offset = 0; load(); }, ${DEVICES_SEARCH_DEBOUNCE_MS});
  });
  previous.addEventListener("click", () => { offset = Math.max(0, offset - limit); load(); });
  next.addEventListener("click", () => { if (offset + limit < total) { offset += limit; load(); } });
  load();
  setInterval(load, ${DEVICES_REFRESH_MS});

  function whole(text, fallback, min, max) {
    const value = /^\\d{1,16}$/.test(text ?? "") ? Number(text) : fallback;
    return Math.min(max, Math.max(min, value));
  }

${DEVICE_ROW_JS}
  function when(iso) {
    return iso === null ? "–" : new Date(iso).toLocaleString();
  }

  function row(d) {
    return deviceRow(d.name, [when(d.since), d.ip, d.udpPort, d.files.toLocaleString("en"),
      when(d.lastUpload), d.messagesWaiting.toLocaleString("en"), when(d.lockedUntil)]);
  }

  async function load() {
    const number = ++asked;
    const params = new URLSearchParams({ offset: String(offset), limit: String(limit) });
    if (search.value !== "") params.set("q", search.value);
    try {
      const answer = await fetch("/api/devices?" + params);
      if (!answer.ok) throw new Error((await answer.text()).trim());
      const page = await answer.json();
      if (number !== asked) return;
      // Past the end (devices left, or a new search): show the last page there is.
      if (page.devices.length === 0 && page.total > 0 && offset > 0) {
        offset = Math.floor((page.total - 1) / limit) * limit;
        return load();
      }
      total = page.total;
      document.getElementById("devices").replaceChildren(...page.devices.map(row));
      document.getElementById("shown").textContent = page.total === 0
        ? (search.value === "" ? "no device online" : "no device online matches")
        : (offset + 1) + "–" + (offset + page.devices.length) + " of " + page.total;
      previous.disabled = offset === 0;
      next.disabled = offset + limit >= page.total;
      history.replaceState(null, "", "/devices?" + params);
      status.textContent = "";
      document.body.dataset.query = params.toString();
      document.body.dataset.updated = String(Date.now());
    } catch (error) {
      if (number === asked) status.textContent = "cannot load: " + error.message;
    }
  }
})();
`;
