/**
 * The dashboard's login page: a form that posts the operator token to `/login`. Plain
 * HTML, no script and no inline style (the CSP allows neither).
 *
 * @module
 */

/** The page, with `notice` (already plain text, escaped here) above the form. */
export function loginPage(notice: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>iotnet: operator login</title></head>
<body>
<h1>iotnet operator</h1>
<p>${escapeHtml(notice)}</p>
<form method="post" action="/login">
<label>Operator token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Log in</button>
</form>
<p>The token is in the file <code>operator-token</code> of the server's data directory.</p>
</body>
</html>
`;
}

/** `text` safe to put in HTML text or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}
