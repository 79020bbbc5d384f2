import path from 'node:path';
import { defineConfig, configDefaults } from 'vitest/config';

// When CI_REPORT_DIR is set (by .ci/run), also write a JSON report there so the CI script can count
// passed and failed tests exactly. The default reporter's output is printed either way.
const reportDir = process.env.CI_REPORT_DIR;

export default defineConfig({
  test: {
    include: [
      'shared/test/**/*.test.ts',
      'server/test/**/*.test.ts',
      'client/test/**/*.test.ts',
      'tools/test/**/*.test.ts',
    ],
    exclude: [...configDefaults.exclude, 'e2e/**', 'dist/**'],
    environment: 'node',
    testTimeout: 60_000,
    reporters: reportDir ? ['default', 'json'] : ['default'],
    ...(reportDir ? { outputFile: { json: path.resolve(reportDir, 'vitest.json') } } : {}),
  },
});
