/**
 * Runs first in `npm test`: makes sure the browser tests have a Chromium, before any test
 * starts. It looks for one (tools/chromium-path.ts: CHROMIUM_PATH, Playwright's own, the
 * system's); if there is none, it installs one where it can: Debian's package when running
 * as root on Debian (`apt-get update && apt-get install -y --no-install-recommends chromium
 * fonts-liberation`), otherwise Playwright's (`npx playwright install chromium`). If that
 * fails too, it stops `npm test` with one line saying what to install.
 *
 * EVENTIDE_NO_BROWSER_INSTALL=1 skips the install attempt: only look. With it a test can
 * check the "nothing found" line without touching the machine.
 *
 * Prints one line either way: `chromium: <path> (<how it was found>)` on stdout, or
 * `chromium: <what to do>` on stderr with exit status 1.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findChromium, type ChromiumLookup } from './chromium-path.js';

function run(cmd: string, args: string[]): boolean {
  console.error(`chromium: none found; running ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
}

function install(): void {
  const debianRoot = existsSync('/etc/debian_version') && process.getuid?.() === 0;
  if (debianRoot) {
    if (run('apt-get', ['update'])) run('apt-get', ['install', '-y', '--no-install-recommends', 'chromium', 'fonts-liberation']);
  } else {
    run('npx', ['playwright', 'install', 'chromium']);
  }
}

let found: ChromiumLookup = findChromium();
if (!found.ok && found.reason === 'none' && process.env.EVENTIDE_NO_BROWSER_INSTALL !== '1') {
  install();
  found = findChromium();
}
if (found.ok) {
  console.log(`chromium: ${found.path} (${found.source})`);
} else {
  console.error(`chromium: ${found.message}`);
  process.exitCode = 1;
}
