/**
 * Debian's chromium, headless, driven by `playwright-core` with the flags of issue 14 and a
 * fresh profile: what the browser tests and the dashboard load benchmark
 * (`scripts/bench/dashboard_watch.ts`) open pages in.
 *
 * @module
 */

import { type BrowserContext, chromium, type Page } from "playwright-core";
import { findCommand, installHint } from "../../scripts/tools.ts";

/** The flags issue 14 asks for: no sandbox (root in CI), no GPU, nothing fetched in the background. */
export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
] as const;

/** A running chromium on a fresh profile; disposing it closes it and removes the profile. */
export interface Chromium extends AsyncDisposable {
  context: BrowserContext;
}

/**
 * Starts chromium with {@linkcode CHROMIUM_FLAGS} on a new temporary profile.
 *
 * @returns the browser's context, to be disposed (`await using`).
 * @throws {Error} when chromium is not installed (saying how to install it), or does not start.
 */
export async function launchChromium(): Promise<Chromium> {
  const executablePath = findCommand("chromium");
  if (!executablePath) throw new Error(`chromium not found; ${installHint(["chromium"])}`);
  const profile = await Deno.makeTempDir({ prefix: "iotnet-chromium-" });
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_FLAGS],
    });
    return {
      context,
      async [Symbol.asyncDispose]() {
        await context.close();
        await Deno.remove(profile, { recursive: true });
      },
    };
  } catch (error) {
    await Deno.remove(profile, { recursive: true });
    throw error;
  }
}

/**
 * A new page that logs in to the operator dashboard at `base` with `token` (the login page's
 * form) and lands on the overview.
 *
 * @param context the browser's context.
 * @param base `http://host:port` of the operator HTTP.
 * @param token the operator token.
 * @returns the page, once the login form is sent.
 */
export async function openDashboard(
  context: BrowserContext,
  base: string,
  token: string,
): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.fill("input[name=token]", token);
  await page.click("button[type=submit]");
  return page;
}
