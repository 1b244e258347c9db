/**
 * Headers every operator HTTP answer carries: nothing but iotnet's own resources may load
 * (`Content-Security-Policy: default-src 'self'`, so no inline script or style either), no
 * content sniffing, no framing, no referrer, nothing cached.
 *
 * @module
 */

/** The headers, as name → value. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

/** `response` with {@linkcode SECURITY_HEADERS} set on it. */
export function withSecurityHeaders(response: Response): Response {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) {
    response.headers.set(name, value);
  }
  return response;
}
