/**
 * The plain TCP copy the `ued` and `uvf` sections time as their reference: socat sends a
 * file over loopback to a socat that writes it to another file.
 *
 * @module
 */

import { startToolServer } from "./tool_server.ts";

/**
 * Copies `path` to `target` through a loopback TCP connection between two socat
 * processes, and times it from the sender's start to the receiver's exit.
 *
 * @param path the file sent.
 * @param target the file written (created or truncated).
 * @returns the time in milliseconds, or `NaN` and what the sender said when it failed.
 * @throws {ToolServerError} when the receiving socat does not listen.
 */
export async function socatCopy(
  path: string,
  target: string,
): Promise<{ ms: number; failure?: string }> {
  // One-shot: the receiver exits when the sender closes the connection.
  await using receiver = await startToolServer({
    transport: "tcp",
    port: "kernel",
    command: (port) => [
      "socat",
      "-u",
      `TCP-LISTEN:${port},bind=127.0.0.1`,
      `OPEN:${target},creat,trunc`,
    ],
  });
  const start = performance.now();
  const sender = await new Deno.Command("socat", {
    args: ["-u", `OPEN:${path}`, `TCP:127.0.0.1:${receiver.port}`],
  }).output();
  if (!sender.success) {
    // The receiver may never have had a connection: it is stopped, not waited for.
    const said = new TextDecoder().decode(sender.stderr).trim();
    return {
      ms: NaN,
      failure: `the socat sender exited with ${sender.code}: ${said || "no message"}`,
    };
  }
  await receiver.child.status;
  return { ms: performance.now() - start };
}
