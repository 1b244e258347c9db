/**
 * Who may use the operator HTTP: a request with `Authorization: Bearer <token>` or the
 * session cookie the login page sets once given the token. The cookie holds an HMAC of a
 * fixed label under the token, not the token itself: it changes when the token does, and
 * the server keeps no session table. It is `HttpOnly` (no script reads it) and
 * `SameSite=Strict` (no other site's page sends it).
 *
 * @module
 */

/** The session cookie's name. */
export const SESSION_COOKIE = "iotnet_session";

/** Checks requests against the operator token. */
export class OperatorAuth {
  readonly #token: Uint8Array;
  readonly #cookie: string;

  private constructor(token: string, cookie: string) {
    this.#token = new TextEncoder().encode(token);
    this.#cookie = cookie;
  }

  /** An authenticator for `token`. */
  static async create(token: string): Promise<OperatorAuth> {
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(token),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("iotnet session"));
    const cookie = Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
    return new OperatorAuth(token, cookie);
  }

  /** Whether `given` is the token (compared in constant time). */
  isToken(given: string): boolean {
    return sameBytes(new TextEncoder().encode(given), this.#token);
  }

  /** Whether `request` carries the token or the session cookie. */
  allows(request: Request): boolean {
    const header = request.headers.get("authorization");
    if (header?.startsWith("Bearer ")) return this.isToken(header.slice(7).trim());
    const cookie = cookieValue(request.headers.get("cookie"), SESSION_COOKIE);
    return cookie !== undefined &&
      sameBytes(new TextEncoder().encode(cookie), new TextEncoder().encode(this.#cookie));
  }

  /** The `Set-Cookie` value that logs a browser in; `secure` on HTTPS. */
  setCookie(secure: boolean): string {
    return `${SESSION_COOKIE}=${this.#cookie}; Path=/; HttpOnly; SameSite=Strict` +
      (secure ? "; Secure" : "");
  }

  /** The `Set-Cookie` value that logs a browser out: the cookie, emptied and expired. */
  clearCookie(secure: boolean): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0` +
      (secure ? "; Secure" : "");
  }
}

function cookieValue(header: string | null, name: string): string | undefined {
  for (const part of header?.split(";") ?? []) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}
