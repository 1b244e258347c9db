/**
 * The frame every page of the dashboard shares: the head (the common style, the page's own
 * styles and scripts, none inline: the CSP allows neither) and the header (the title, a
 * status line the page's script fills, the links between the pages).
 *
 * @module
 */

/** The links between the dashboard's pages, in each page's header. */
export const DASHBOARD_NAV =
  `<nav><a href="/">overview</a> <a href="/devices">devices</a> <a href="/feed">events</a> <a href="/security">security</a> ` +
  `<a href="/metrics">metrics</a></nav>`;

/**
 * Script text the device tables share (the overview's, the devices page's): `cell(text)`, a
 * table cell holding `text` as text, and `deviceRow(name, cells)`, a row keyed by the device
 * whose first cell links its name to `/devices/<name>`, then `cells` (texts).
 */
export const DEVICE_ROW_JS = `  function cell(text) {
    const td = document.createElement("td");
    td.textContent = String(text);
    return td;
  }

  function deviceRow(name, cells) {
    const tr = document.createElement("tr");
    tr.dataset.device = name;
    const link = document.createElement("a");
    link.href = "/devices/" + encodeURIComponent(name);
    link.textContent = name;
    const nameCell = document.createElement("td");
    nameCell.append(link);
    tr.append(nameCell, ...cells.map(cell));
    return tr;
  }
`;

/** What makes one page. */
export interface DashboardPage {
  /** The document's title. */
  title: string;
  /** The heading after "iotnet fleet /" (HTML); none on the overview. */
  heading?: string;
  /** The status line until the script says more. */
  status: string;
  /** The page's scripts, in order (deferred). */
  scripts: readonly string[];
  /** Style sheets after `/dashboard.css`. */
  styles?: readonly string[];
  /** More of the header, after the links (HTML). */
  header?: string;
  /** The page below the header (HTML). */
  body: string;
}

/**
 * A page's whole HTML. Every part is iotnet's own text: nothing from a device goes in here
 * (the scripts put that in with `textContent`).
 *
 * @example
 * ```ts
 * import { dashboardPage } from "./dashboard_page.ts";
 * import assert from "node:assert/strict";
 * const html = dashboardPage({ title: "t", status: "…", scripts: ["/a.js"], body: "<p>x</p>" });
 * assert.match(html, /<script src="\/a.js" defer><\/script>/);
 * assert.match(html, /<h1>iotnet fleet<\/h1>/);
 * ```
 */
export function dashboardPage(page: DashboardPage): string {
  const heading = page.heading === undefined
    ? "iotnet fleet"
    : `<a href="/">iotnet fleet</a> / ${page.heading}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${page.title}</title>
${
    ["/dashboard.css", ...page.styles ?? []].map((href) =>
      `<link rel="stylesheet" href="${href}">\n`
    ).join("")
  }${page.scripts.map((src) => `<script src="${src}" defer></script>\n`).join("")}</head>
<body>
<header>
<h1>${heading}</h1>
<span id="status">${page.status}</span>
${DASHBOARD_NAV}
${page.header ?? ""}</header>
${page.body}</body>
</html>
`;
}
