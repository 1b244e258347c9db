/**
 * `iotnet keygen <name> [--out <file>]`: an Ed25519 key for a device (SPEC §7). Writes the
 * private key (mode 0600; never over an existing file) and prints the credentials line.
 *
 * @module
 */

import { Command } from "@commander-js/extra-typings";
import { deviceNameProblem } from "../protocol/limits.ts";
import { generateDeviceKey } from "../tls/device_key.ts";
import { KEY_FILE_MODE } from "./cert_command.ts";
import { UsageError } from "./usage_error.ts";

/** Builds the `keygen` subcommand. */
export function keygenCommand() {
  return new Command("keygen")
    .description("make an Ed25519 key for a device and print its credentials line")
    .argument("<name>", "device name (letters, digits, '.', '_', '-'; at most 32)")
    .option("--out <file>", "where the private key goes (default <name>.key)")
    .addHelpText(
      "after",
      `
Put the printed line "<name> ed25519$<public key>" in the server's credentials file and
give the key file to the device: iotnet edge ... --key <name>.key`,
    )
    .action(async (name, opts) => {
      const problem = deviceNameProblem(name);
      if (problem) throw new UsageError(`<name>: ${problem}`);
      const path = opts.out ?? `${name}.key`;
      const { privatePem, publicKey } = await generateDeviceKey();
      try {
        await Deno.writeTextFile(path, privatePem, { createNew: true, mode: KEY_FILE_MODE });
        await Deno.chmod(path, KEY_FILE_MODE);
      } catch (error) {
        const what = error instanceof Deno.errors.AlreadyExists
          ? "it exists; remove it first or give --out another file (a new key replaces " +
            "the device's credentials line too)"
          : (error as Error).message;
        throw new UsageError(`cannot write ${path}: ${what}`, { cause: error });
      }
      console.log(`${name} ${publicKey}`);
    });
}
