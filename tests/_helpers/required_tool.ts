/**
 * Tests that need a reference tool (scripts/tools.ts): outside CI a missing tool skips
 * them and says so plainly; in CI (`CI` set) it fails them, since `.ci/run` installs it.
 *
 * @module
 */

import { findCommand, type ToolName, TOOLS } from "../../scripts/tools.ts";

/**
 * Whether tests needing `tool` should be skipped: true only outside CI with the tool
 * missing, after printing why and how to install it.
 */
export function skipWithout(tool: ToolName): boolean {
  if (findCommand(TOOLS[tool].command) !== undefined) return false;
  if (Deno.env.get("CI")) return false; // the test runs and fails, naming the tool
  console.log(
    `SKIPPED: ${TOOLS[tool].command} is not installed; ` +
      `\`deno task tools --install ${tool}\` installs it (Debian package ${TOOLS[tool].package})`,
  );
  return true;
}
