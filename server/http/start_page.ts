/**
 * The page at `/` for a logged-in operator: what the port serves, as links. Plain HTML,
 * no script.
 *
 * @module
 */

/** The page. */
export function startPage(): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>iotnet operator</title></head>
<body>
<h1>iotnet operator</h1>
<ul>
<li><a href="/api/devices">/api/devices</a>: the devices online now (JSON; <code>q</code>, <code>offset</code>, <code>limit</code>)</li>
<li><a href="/metrics">/metrics</a>: Prometheus metrics</li>
<li><a href="/readyz">/readyz</a>, <a href="/healthz">/healthz</a>: health</li>
</ul>
<form method="post" action="/logout"><button type="submit">Log out</button></form>
</body>
</html>
`;
}
