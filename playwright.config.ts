import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig, devices } from '@playwright/test';
import { chromiumPath } from './tools/chromium-path';

// One server for the run: the built client plus the real WebSocket server, on its own port
// with a fresh data directory. Workers inherit the environment, so the directory is made once.
const port = Number(process.env.E2E_PORT ?? 18765);
process.env.E2E_DATA_DIR ??= mkdtempSync(path.join(tmpdir(), 'eventide-e2e-'));
const dataDir = process.env.E2E_DATA_DIR;

export default defineConfig({
  testDir: 'e2e',
  timeout: 60_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  // One worker: the tests start their own servers and import a large document; two workers on this
  // 2-core machine starve the browsers. One retry on CI, reported as flaky when used (the
  // "two tabs" test's rare failure was found to be the test's own race and is fixed).
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  forbidOnly: !!process.env.CI,
  // The JSON report goes where CI says (PLAYWRIGHT_JSON_OUTPUT_FILE); without it, only the list.
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_FILE ? [['list'], ['json']] : [['list']],
  use: {
    baseURL: `http://localhost:${port}`,
    trace: 'off',
    serviceWorkers: 'allow',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        ...devices['Desktop Chrome'],
        launchOptions: {
          // CHROMIUM_PATH, else Playwright's own Chromium if installed, else /usr/bin/chromium
          // (tools/chromium-path.ts); `npm test` installs one first if there is none.
          executablePath: chromiumPath(),
          args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        },
      },
    },
  ],
  webServer: {
    command: 'npm run build && npx tsx server/src/main.ts',
    url: `http://localhost:${port}/healthz`,
    env: { PORT: String(port), DATA_DIR: dataDir },
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
});
