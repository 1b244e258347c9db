import assert from "node:assert/strict";
import { guardClosedSocketWrites, isClosedSocketWrite } from "./closed_socket_write.ts";

/** The error as postgres.js 3.4.9 throws it (its stack as Deno reports it). */
function closedSocketWrite(): TypeError {
  const error = new TypeError("Cannot read properties of null (reading 'write')");
  error.stack = `TypeError: ${error.message}\n    at nextWrite ` +
    "(file:///root/.cache/deno/npm/registry.npmjs.org/postgres/3.4.9/src/connection.js:255:22)";
  return error;
}

Deno.test("the postgres.js deferred write to a closed socket is recognised, nothing else", () => {
  assert.equal(isClosedSocketWrite(closedSocketWrite()), true);
  assert.equal(
    isClosedSocketWrite(new TypeError("Cannot read properties of null (reading 'write')")),
    false,
  );
  const other = closedSocketWrite();
  other.message = "Cannot read properties of null (reading 'end')";
  assert.equal(isClosedSocketWrite(other), false);
  assert.equal(isClosedSocketWrite(new Error("nextWrite postgres")), false);
  assert.equal(isClosedSocketWrite(undefined), false);
});

Deno.test("while the guard is up that error is reported and its event cancelled; others are left alone; down, it is gone", () => {
  const caught: TypeError[] = [];
  const down = guardClosedSocketWrites((error) => caught.push(error));
  const dispatch = (error: unknown) => {
    const event = new ErrorEvent("error", { error, cancelable: true });
    globalThis.dispatchEvent(event);
    return event.defaultPrevented;
  };
  try {
    assert.equal(dispatch(closedSocketWrite()), true);
    assert.equal(caught.length, 1);
    assert.equal(dispatch(new TypeError("something else")), false);
    assert.equal(caught.length, 1);
  } finally {
    down();
  }
  assert.equal(dispatch(closedSocketWrite()), false);
  assert.equal(caught.length, 1);
});
