import assert from "node:assert/strict";
import {
  BadCredentialsError,
  BlockedError,
  ERROR_CLASSES,
  ERROR_CODES,
  isErrorCode,
  NotFoundError,
  RequestError,
  requestErrorOf,
} from "./errors.ts";

Deno.test("every wire code rebuilds its own class, which names itself and gives the code back", () => {
  const seen = new Set<unknown>();
  for (const code of ERROR_CODES) {
    const cause = new Error("underneath");
    const error = requestErrorOf(code, `refused: ${code}`, { cause });
    assert.ok(error instanceof ERROR_CLASSES[code], code);
    assert.ok(error instanceof RequestError && error instanceof Error, code);
    assert.equal(error.code, code);
    assert.equal(error.name, ERROR_CLASSES[code].name, "name is the class name");
    assert.equal(error.message, `refused: ${code}`);
    assert.equal(error.cause, cause);
    seen.add(ERROR_CLASSES[code]);
  }
  assert.equal(seen.size, ERROR_CODES.length, "one class per code");
});

Deno.test("the codes are the documented ones, in their order", () => {
  assert.deepEqual(ERROR_CODES, [
    "bad_args",
    "bad_credentials",
    "blocked",
    "already_active",
    "not_found",
    "not_logged_in",
    "invalid_data",
    "too_large",
    "offline",
    "self",
    "protocol",
    "unsupported_version",
    "timeout",
    "io",
    "busy",
    "internal",
    "cancelled",
    "unavailable",
  ]);
});

Deno.test("a class thrown by the server gives its code without naming it", () => {
  assert.equal(new NotFoundError("file 3 has not been uploaded by watch1").code, "not_found");
  assert.equal(new BadCredentialsError("Invalid name or password.").code, "bad_credentials");
  // A refinement of a table class travels as its parent's code.
  class NameLockedError extends BlockedError {
    override name = "NameLockedError";
  }
  const locked = new NameLockedError("watch1 is blocked for 10 s");
  assert.equal(locked.code, "blocked");
  assert.ok(locked instanceof BlockedError);
});

Deno.test("isErrorCode takes only the table's codes, not names inherited from Object", () => {
  for (const code of ERROR_CODES) assert.ok(isErrorCode(code));
  for (const value of ["__proto__", "toString", "constructor", "NOT_FOUND", "", 1, null]) {
    assert.equal(isErrorCode(value), false, String(value));
  }
});
