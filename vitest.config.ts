import path from 'node:path';
import { defineConfig, configDefaults } from 'vitest/config';

// When CI_REPORT_DIR is set (by .ci/run), also write a JSON report there so the CI script can count
// passed and failed tests exactly. The default reporter's output is printed either way.
const reportDir = process.env.CI_REPORT_DIR;

// Tests that measure latency against a bound (the server under attack, health during a flood)
// or run many processes (the cluster) run alone, after all the others: on a 2-core machine a
// neighbouring test file's CPU would be measured as theirs.
const alone = ['server/test/attack.test.ts', 'server/test/flood.test.ts', 'server/test/cluster.test.ts'];

export default defineConfig({
  test: {
    exclude: [...configDefaults.exclude, 'e2e/**', 'dist/**'],
    environment: 'node',
    testTimeout: 60_000,
    reporters: reportDir ? ['default', 'json'] : ['default'],
    ...(reportDir ? { outputFile: { json: path.resolve(reportDir, 'vitest.json') } } : {}),
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['shared/test/**/*.test.ts', 'server/test/**/*.test.ts', 'client/test/**/*.test.ts', 'tools/test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, 'e2e/**', 'dist/**', ...alone],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'alone',
          include: alone,
          sequence: { groupOrder: 1 },
          // One at a time: the three in one group still ran side by side, and the attack's p99
          // was then measured against the flood's CPU (61.6 ms against its bound of 38.7).
          fileParallelism: false,
          testTimeout: 180_000,
        },
      },
    ],
  },
});
