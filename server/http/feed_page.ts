/**
 * The event feed page at `/feed` and its script, as text in the module graph: the server's
 * events live from `/feed/events` (`event_feed.ts`), the newest on top, at most
 * {@linkcode MAX_FEED_ROWS} rows, with a filter by kind. No inline script or style (the CSP
 * allows neither); text is put in with `textContent` only, so a name a stranger tried to log
 * in with is shown as the text it is.
 *
 * @module
 */

import { SERVER_EVENT_KINDS } from "../server_event.ts";
import { dashboardPage } from "./dashboard_page.ts";

/** Rows the page keeps; older ones are let go. */
export const MAX_FEED_ROWS = 500;

/** `/feed`. */
export const FEED_HTML = dashboardPage({
  title: "iotnet events",
  heading: "events",
  status: "connecting…",
  scripts: ["/feed.js"],
  body: `<p class="links"><label>Show <select id="kind"><option value="">every kind</option>${
    SERVER_EVENT_KINDS.map((k) => `<option value="${k}">${k.replaceAll("_", " ")}</option>`).join(
      "",
    )
  }</select></label> <span id="shown"></span></p>
<table>
<thead><tr><th>time</th><th>kind</th><th>event</th></tr></thead>
<tbody id="events"></tbody>
</table>
`,
});

/** `/feed.js`. */
export const FEED_JS = `"use strict";
(() => {
  const MAX_ROWS = ${MAX_FEED_ROWS};
  const body = document.getElementById("events");
  const kind = document.getElementById("kind");
  const status = document.getElementById("status");
  const source = new EventSource("/feed/events");
  source.addEventListener("open", () => { status.textContent = "live"; });
  source.addEventListener("error", () => { status.textContent = "reconnecting…"; });
  // A (re)connection starts with the latest events: they replace what is shown.
  source.addEventListener("backlog", (event) => {
    body.replaceChildren();
    add(JSON.parse(event.data));
  });
  source.addEventListener("events", (event) => add(JSON.parse(event.data)));
  kind.addEventListener("change", filter);

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = String(text);
    return td;
  }

  function row(e) {
    const tr = document.createElement("tr");
    tr.dataset.kind = e.kind;
    tr.dataset.seq = String(e.seq);
    tr.className = "event-" + e.kind;
    tr.append(cell(new Date(e.at).toLocaleString()), cell(e.kind.replaceAll("_", " ")), cell(e.text));
    return tr;
  }

  function add(message) {
    const rows = message.events.map(row).reverse();
    if (message.missed > 0) {
      const tr = document.createElement("tr");
      tr.dataset.kind = "missed";
      const td = cell(message.missed.toLocaleString("en") + " events came and went too fast to show");
      td.colSpan = 3;
      tr.append(td);
      rows.push(tr);
    }
    body.prepend(...rows);
    while (body.rows.length > MAX_ROWS) body.lastElementChild.remove();
    filter();
    document.body.dataset.seq = String(message.events.at(-1)?.seq ?? document.body.dataset.seq ?? 0);
  }

  function filter() {
    let shown = 0;
    for (const tr of body.rows) {
      tr.hidden = kind.value !== "" && tr.dataset.kind !== kind.value;
      if (!tr.hidden) shown++;
    }
    document.getElementById("shown").textContent = shown + " of " + body.rows.length + " shown";
  }
})();
`;
