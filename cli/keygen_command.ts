/**
 * `iotnet keygen <name>`: a device key (SPEC §7). Writes the Ed25519 private key (mode
 * 0600) and prints the credentials line for the server.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { deviceNameProblem } from "../protocol/limits.ts";
import { credentialsLine, generateDeviceKey } from "../tls/device_key.ts";
import { writeKey } from "./cert_command.ts";
import { UsageError } from "./usage_error.ts";

/** Builds the `keygen` subcommand. */
export function keygenCommand() {
  return new Command("keygen")
    .description("make a device key; prints the line for the server's credentials file")
    .argument("<name>", "device name")
    .option("--out <file>", "where the private key is written (default <name>.key)")
    .action(async (name, opts) => {
      const problem = deviceNameProblem(name);
      if (problem) throw new UsageError(`<name>: ${problem}`);
      const out = opts.out ?? `${name}.key`;
      const key = await generateDeviceKey();
      await writeKey(out, key.privatePem);
      console.error(`wrote ${out}; log in with: iotnet edge ... --key ${out}`);
      console.error("add this line to the server's credentials file:");
      console.log(credentialsLine(name, key.publicKey));
    });
}
