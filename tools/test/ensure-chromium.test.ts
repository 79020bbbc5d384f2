/**
 * tools/ensure-chromium.ts, the first step of `npm test`, run as npm runs it (a child
 * process), in environments arranged so that each way of finding a browser is the only
 * one available. EVENTIDE_NO_BROWSER_INSTALL=1 keeps it from installing anything, so
 * "nothing found" can be checked on a machine that has a Chromium without removing it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'eventide-chromium-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The environment of a machine with no Chromium anywhere the script looks, and no installs. */
function bare(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.CHROMIUM_PATH;
  return {
    ...env,
    PLAYWRIGHT_BROWSERS_PATH: join(scratch, 'no-playwright-browsers'),
    EVENTIDE_SYSTEM_CHROMIUM: join(scratch, 'no-system', 'chromium'),
    EVENTIDE_NO_BROWSER_INSTALL: '1',
    ...extra,
  };
}

function ensure(env: NodeJS.ProcessEnv): { status: number | null; stdout: string[]; stderr: string[] } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'tools/ensure-chromium.ts'], { cwd: root, env, encoding: 'utf8' });
  const lines = (s: string) => s.split('\n').filter((l) => l !== '');
  return { status: r.status, stdout: lines(r.stdout), stderr: lines(r.stderr) };
}

/** A stand-in browser binary: an executable file is all the lookup checks. */
function executableAt(file: string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, '#!/bin/sh\nexit 0\n');
  chmodSync(file, 0o755);
  return file;
}

describe('ensure-chromium', () => {
  it('with nothing found and installs off, stops with one line that says what to install', () => {
    const r = ensure(bare());
    expect(r.status).toBe(1);
    expect(r.stdout).toEqual([]);
    expect(r.stderr).toHaveLength(1);
    expect(r.stderr[0]).toMatch(/^chromium: no Chromium for the browser tests: install one/);
    expect(r.stderr[0]).toContain('apt-get install -y --no-install-recommends chromium fonts-liberation');
    expect(r.stderr[0]).toContain('npx playwright install chromium');
    expect(r.stderr[0]).toContain('CHROMIUM_PATH');
  });

  it('takes CHROMIUM_PATH first, and refuses one that is not an executable file', () => {
    const mine = executableAt(join(scratch, 'mine', 'chrome'));
    const system = executableAt(join(scratch, 'system', 'chromium'));
    expect(ensure(bare({ CHROMIUM_PATH: mine, EVENTIDE_SYSTEM_CHROMIUM: system }))).toEqual({ status: 0, stdout: [`chromium: ${mine} (CHROMIUM_PATH)`], stderr: [] });
    const missing = join(scratch, 'missing', 'chrome');
    const r = ensure(bare({ CHROMIUM_PATH: missing, EVENTIDE_SYSTEM_CHROMIUM: system }));
    expect(r.status).toBe(1);
    expect(r.stderr).toEqual([`chromium: CHROMIUM_PATH=${missing} is not an executable file: point it at a Chromium or Chrome binary, or unset it`]);
  });

  it("then Playwright's own Chromium if that file exists, then the system's", () => {
    const browsers = join(scratch, 'playwright-browsers');
    const system = executableAt(join(scratch, 'system2', 'chromium'));
    expect(ensure(bare({ PLAYWRIGHT_BROWSERS_PATH: browsers, EVENTIDE_SYSTEM_CHROMIUM: system })).stdout).toEqual([`chromium: ${system} (system)`]);
    // Where Playwright would have installed its Chromium under that browsers path.
    const where = spawnSync(process.execPath, ['--input-type=module', '-e', "import('@playwright/test').then((m) => console.log(m.chromium.executablePath()))"], {
      cwd: root,
      env: bare({ PLAYWRIGHT_BROWSERS_PATH: browsers }),
      encoding: 'utf8',
    }).stdout.trim();
    expect(where.startsWith(browsers)).toBe(true);
    executableAt(where);
    expect(ensure(bare({ PLAYWRIGHT_BROWSERS_PATH: browsers, EVENTIDE_SYSTEM_CHROMIUM: system })).stdout).toEqual([`chromium: ${where} (playwright)`]);
  });
});
