// Playwright settings for the book's browser test (run it through ../book.sh, which serves
// the built book on 127.0.0.1 and sets BOOK_URL). Plain @playwright/test: no JupyterLab.
module.exports = {
  testDir: '.',
  testMatch: 'book.spec.ts',
  outputDir: '../results/book-playwright',
  reporter: [['list']],
  retries: 0,
  workers: 1,
  timeout: Number(process.env.BOOK_TEST_TIMEOUT_MS || 180000),
  expect: { timeout: 30000 },
  use: {
    video: 'off',
    trace: 'off',
    screenshot: 'only-on-failure',
    viewport: { width: 1300, height: 1000 },
    launchOptions: require('../chromium'),
  }
};
