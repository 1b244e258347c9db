/**
 * Who may use the operator HTTP port (SPEC §8): a request with `Authorization: Bearer
 * <token>`, or with the session cookie that `POST /login` sets when given the token.
 * The cookie's value is derived from the token (HMAC-SHA256), so it proves the token was
 * given without being it, and it changes when the token file is replaced.
 *
 * @module
 */

/** The session cookie's name. */
export const SESSION_COOKIE = "iotnet_session";

/** Checks requests against the operator token. */
export class OperatorAccess {
  readonly #token: Uint8Array;
  readonly #session: Uint8Array;
  readonly #sessionText: string;
  readonly #secure: boolean;

  private constructor(token: string, session: string, secure: boolean) {
    this.#token = new TextEncoder().encode(token);
    this.#sessionText = session;
    this.#session = new TextEncoder().encode(session);
    this.#secure = secure;
  }

  /**
   * @param token the operator token.
   * @param secure whether the port is HTTPS (the cookie is then `Secure`).
   */
  static async create(token: string, secure: boolean): Promise<OperatorAccess> {
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(token),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const mac = await crypto.subtle.sign(
      "HMAC",
      key,
      new TextEncoder().encode("iotnet operator session"),
    );
    const session = [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
    return new OperatorAccess(token, session, secure);
  }

  /** Whether `request` carries the token or the session cookie. */
  allows(request: Request): boolean {
    const auth = request.headers.get("authorization");
    if (auth !== null) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      return match !== null && this.isToken(match[1]!);
    }
    const cookie = cookieValue(request.headers.get("cookie"), SESSION_COOKIE);
    return cookie !== undefined && sameBytes(new TextEncoder().encode(cookie), this.#session);
  }

  /** Whether `candidate` is the token (in time that does not depend on where they differ). */
  isToken(candidate: string): boolean {
    return sameBytes(new TextEncoder().encode(candidate), this.#token);
  }

  /** The `Set-Cookie` value that lets a browser in. */
  sessionCookie(): string {
    return `${SESSION_COOKIE}=${this.#sessionText}; Path=/; HttpOnly; SameSite=Strict${
      this.#secure ? "; Secure" : ""
    }`;
  }

  /** The `Set-Cookie` value that logs a browser out. */
  clearedCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${
      this.#secure ? "; Secure" : ""
    }`;
  }
}

/** The value of cookie `name` in a `Cookie` header. */
export function cookieValue(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i] ?? 0) ^ b[i]!;
  return diff === 0;
}
