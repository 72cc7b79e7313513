// Playwright settings for the real-browser test (run it through ./run.sh, which
// starts JupyterLab and sets TARGET_URL). Galata's defaults, minus everything that
// would download (its video recording wants ffmpeg) or write reports we do not read.
const base = require('@jupyterlab/galata/lib/playwright-config');

module.exports = {
  ...base,
  testDir: '.',
  testMatch: '*.spec.ts',
  testIgnore: ['book/**'],  // the book's own test: book/playwright.config.js (../book.sh)
  outputDir: 'results/playwright',
  reporter: [['list']],
  retries: 0,
  workers: 1,
  // the notebook runs in full, FIDO fits included, on a CI CPU: at most 5 minutes
  timeout: Number(process.env.BROWSER_TEST_TIMEOUT_MS || 300000),
  expect: { timeout: 60000 },
  use: {
    ...base.use,
    video: 'off',
    trace: 'off',
    screenshot: 'only-on-failure',
    viewport: { width: 1400, height: 1000 },
    launchOptions: require('./chromium'),
  }
};
