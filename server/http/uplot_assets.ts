/**
 * uPlot 1.6.32 (MIT, 51 KB minified), the device page's plotting library, as text in the
 * module graph: the npm text imports put it in what `deno compile` embeds, so nothing is
 * read from disk or fetched from elsewhere. Served at `/uplot.js` and `/uplot.css`.
 *
 * @module
 */

import js from "uplot/dist/uPlot.iife.min.js" with { type: "text" };
import css from "uplot/dist/uPlot.min.css" with { type: "text" };

/** `/uplot.js`: defines the global `uPlot`. */
export const UPLOT_JS: string = js;
/** `/uplot.css`. */
export const UPLOT_CSS: string = css;
