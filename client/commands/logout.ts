/**
 * OUT (also `logout`, and `exit` and `quit`, which people type out of habit): ends the session; the server drops the device from the active log.
 *
 * @module
 */

import type { DeviceArgs, NoArgs, TypedCommandSpec } from "./command.ts";

/** OUT's outcome is the device that logged out; `--json` shows nothing of it. */
export const out: TypedCommandSpec<"OUT", NoArgs, DeviceArgs, NoArgs> = {
  word: "OUT",
  aliases: ["LOGOUT", "EXIT", "QUIT"],
  synopsis: "OUT",
  summary: "log out",
  parse: (args) => args.none(),
  async run(env) {
    await env.connection.request("logout", {});
    return { device: env.device };
  },
  render: ({ device }) => `Bye, ${device}!`,
  json: () => ({}),
};
