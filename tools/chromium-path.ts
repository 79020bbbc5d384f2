/**
 * Which Chromium the browser tests and the slider bench drive, found the same way
 * everywhere (tools/ensure-chromium.ts, playwright.config.ts, bench/slider.ts):
 *
 *   1. `CHROMIUM_PATH`, when set: the person said which one; if it is not an executable
 *      file, that is an error, not a reason to pick another;
 *   2. Playwright's own Chromium (`chromium.executablePath()`, under PLAYWRIGHT_BROWSERS_PATH
 *      or ~/.cache/ms-playwright), if that file exists (`npx playwright install chromium`);
 *   3. the system's, `/usr/bin/chromium` (Debian's package); `EVENTIDE_SYSTEM_CHROMIUM`
 *      names another path, so a test can stand in a machine without one.
 *
 * Finding is read-only; installing is ensure-chromium.ts's business.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { chromium } from '@playwright/test';

/** Where Debian's chromium package puts the browser. */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** The outcome of a search: a path and how it was found, or why there is none. */
export type ChromiumLookup =
  | { readonly ok: true; readonly path: string; readonly source: 'CHROMIUM_PATH' | 'playwright' | 'system' }
  | { readonly ok: false; readonly reason: 'bad-env' | 'none'; readonly message: string };

function executable(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Playwright's browser path for this version, or null if Playwright cannot say. */
function playwrightChromium(): string | null {
  try {
    return chromium.executablePath() || null;
  } catch {
    return null;
  }
}

/** Looks for a Chromium in the order above; `env` is the environment to read (process.env by default). */
export function findChromium(env: NodeJS.ProcessEnv = process.env): ChromiumLookup {
  const wanted = env.CHROMIUM_PATH;
  if (wanted !== undefined && wanted !== '') {
    if (executable(wanted)) return { ok: true, path: wanted, source: 'CHROMIUM_PATH' };
    return { ok: false, reason: 'bad-env', message: `CHROMIUM_PATH=${wanted} is not an executable file: point it at a Chromium or Chrome binary, or unset it` };
  }
  const own = playwrightChromium();
  if (own !== null && executable(own)) return { ok: true, path: own, source: 'playwright' };
  const system = env.EVENTIDE_SYSTEM_CHROMIUM || SYSTEM_CHROMIUM;
  if (executable(system)) return { ok: true, path: system, source: 'system' };
  return {
    ok: false,
    reason: 'none',
    message: `no Chromium for the browser tests: install one (Debian, as root: apt-get install -y --no-install-recommends chromium fonts-liberation; elsewhere: npx playwright install chromium), or set CHROMIUM_PATH to a Chromium or Chrome binary`,
  };
}

/** The path of the Chromium to launch; throws with the lookup's message if there is none. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  const found = findChromium(env);
  if (!found.ok) throw new Error(found.message);
  return found.path;
}
