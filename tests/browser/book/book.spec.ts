/**
 * The course book in a real browser (headless Debian Chromium), both editions, served on
 * 127.0.0.1 by ../book.sh from `make book`'s output:
 *
 *  - pages load with nothing fetched from another host, and no console errors;
 *  - maths is typeset by the book's own MathJax (notebook 02's sympy outputs and $…$ text);
 *  - every figure on the pages opened is loaded (naturalWidth > 0);
 *  - search finds a word;
 *  - every page of the build is reachable from the landing page by internal links, and
 *    every internal link answers 200 (fido_lib.course.book.check_site checks the anchors);
 *  - the student edition shows none of the reference solutions' distinctive lines
 *    (SOLUTION_LINES, written by book.sh from fido_lib.course.book.forbidden_lines), and
 *    holds no instructor's page; the instructor edition shows the solutions, folded.
 * Screenshots go to ../results/.
 */
import { expect, test, Page } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

const BOOK_URL = process.env.BOOK_URL as string; // e.g. http://127.0.0.1:PORT (serves build/book)
const BOOK_DIR = process.env.BOOK_DIR as string; // build/book on disk
const SOLUTION_LINES: string[] = JSON.parse(fs.readFileSync(process.env.SOLUTION_LINES as string, 'utf-8'));
const RESULTS = path.join(__dirname, '..', 'results');
const EDITIONS = ['student', 'instructor'];

const normalise = (text: string) => text.replace(/\s+/g, ' ');

/** Open a page, failing on any request to another host and on console errors. */
async function open(page: Page, url: string): Promise<void> {
  const foreign: string[] = [];
  const errors: string[] = [];
  await page.route('**/*', route => {
    const host = new URL(route.request().url()).hostname;
    if (host === '127.0.0.1') return route.continue();
    foreign.push(route.request().url());
    return route.abort();
  });
  page.on('console', message => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', error => errors.push(String(error)));
  const response = await page.goto(url, { waitUntil: 'load' });
  expect(response?.status(), `status of ${url}`).toBe(200);
  await page.waitForLoadState('networkidle');
  expect(foreign, `requests to other hosts from ${url}`).toEqual([]);
  expect(errors, `console errors on ${url}`).toEqual([]);
}

async function expectImagesLoaded(page: Page, minimum: number): Promise<number> {
  const images = await page.locator('article img').evaluateAll(nodes =>
    nodes.map(n => ({ src: (n as HTMLImageElement).currentSrc, ok: (n as HTMLImageElement).complete && (n as HTMLImageElement).naturalWidth > 0 })));
  expect(images.length, 'figures on the page').toBeGreaterThanOrEqual(minimum);
  expect(images.filter(i => !i.ok).map(i => i.src), 'figures that did not load').toEqual([]);
  return images.length;
}

async function expectMathTypeset(page: Page, minimum: number): Promise<void> {
  await page.waitForFunction(() => (window as any).MathJax?.startup?.promise !== undefined, null, { timeout: 30000 });
  await page.evaluate(() => (window as any).MathJax.startup.promise);
  const typeset = await page.locator('mjx-container').count();
  expect(typeset, 'formulas typeset by MathJax').toBeGreaterThanOrEqual(minimum);
  expect(await page.locator('mjx-merror').count(), 'MathJax errors').toBe(0);
  const mathjax = await page.evaluate(() => Array.from(document.scripts).map(s => s.src).filter(s => /mathjax/i.test(s)));
  expect(mathjax.length, 'MathJax script').toBeGreaterThan(0);
  for (const src of mathjax) expect(new URL(src).hostname, 'MathJax served by the book itself').toBe('127.0.0.1');
}

for (const edition of EDITIONS) {
  const base = `${BOOK_URL}/${edition}/html`;

  test(`${edition}: landing page, syllabus and search`, async ({ page }) => {
    await open(page, `${base}/index.html`);
    await expect(page.locator('nav.bd-links')).toContainText('Syllabus');
    await page.screenshot({ path: path.join(RESULTS, `book-${edition}-index.png`) });
    await open(page, `${base}/syllabus.html`);
    await expect(page.locator('article table', { hasText: 'run time (measured)' })).toContainText('study time');
    await expect(page.locator('article table', { hasText: 'you will learn' })).toBeVisible();
    await open(page, `${base}/search.html?q=temperature`);
    await expect(page.locator('#search-results li').first()).toBeVisible({ timeout: 30000 });
  });

  test(`${edition}: notebook 02 has its maths typeset`, async ({ page }) => {
    const name = fs.readdirSync(path.join(BOOK_DIR, edition, 'html', 'notebooks')).find(f => f.startsWith('02_'));
    expect(name, 'notebook 02 in the build').toBeTruthy();
    await open(page, `${base}/notebooks/${name}`);
    await expectMathTypeset(page, 5);
    await expectImagesLoaded(page, 2);
    await page.screenshot({ path: path.join(RESULTS, `book-${edition}-02.png`) });
  });

  test(`${edition}: every notebook page shows its figures`, async ({ page }) => {
    const pages = fs.readdirSync(path.join(BOOK_DIR, edition, 'html', 'notebooks')).filter(f => f.endsWith('.html')).sort();
    expect(pages.length, 'notebook pages').toBeGreaterThanOrEqual(6);
    for (const name of pages) {
      await open(page, `${base}/notebooks/${name}`);
      const shown = await expectImagesLoaded(page, 1);
      const text = normalise(await page.locator('article').innerText());
      if (edition === 'student') {
        const leaked = SOLUTION_LINES.filter(line => text.includes(normalise(line)));
        expect(leaked, `solution lines on ${name}`).toEqual([]);
        expect(await page.locator('.tag_exercise-task').count(), `exercise tasks on ${name}`).toBeGreaterThan(0);
        if (name.startsWith('01_')) {
          const task = page.locator('.tag_exercise-task').first();
          await task.scrollIntoViewIfNeeded();
          await task.screenshot({ path: path.join(RESULTS, 'book-student-task.png') });
        }
      }
      console.log(`${edition} ${name}: ${shown} figures`);
    }
    await open(page, `${base}/results.html`);
    await expectImagesLoaded(page, 2);
  });

  test(`${edition}: every page is reachable and every internal link answers`, async ({ page, request }) => {
    const root = path.join(BOOK_DIR, edition, 'html');
    const built = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory() && entry.name !== '_static' && entry.name !== '_sources') walk(full);
        else if (entry.name.endsWith('.html')) built.add(path.relative(root, full).split(path.sep).join('/'));
      }
    };
    walk(root);
    const seen = new Set<string>();
    const queue = ['index.html'];
    const checked = new Map<string, number>();
    while (queue.length) {
      const current = queue.shift() as string;
      if (seen.has(current)) continue;
      seen.add(current);
      const html = await (await request.get(`${base}/${current}`)).text();
      for (const match of html.matchAll(/\s(?:href|src)="([^"#?]*)[^"]*"/g)) {
        const target = match[1];
        if (!target || /^[a-z]+:|^\/\//i.test(target)) continue; // another site, mailto:, data:
        const resolved = new URL(target, `${base}/${current}`).toString();
        if (!checked.has(resolved)) checked.set(resolved, (await request.get(resolved)).status());
        const rel = resolved.slice(base.length + 1);
        if (rel.endsWith('.html') && !rel.startsWith('_static/')) queue.push(rel);
      }
    }
    const broken = [...checked].filter(([, status]) => status !== 200).map(([url, status]) => `${url}: ${status}`);
    expect(broken, 'internal links that do not answer 200').toEqual([]);
    const orphans = [...built].filter(p => !seen.has(p) && !['genindex.html', 'search.html', 'py-modindex.html'].includes(p));
    expect(orphans, 'built pages no link reaches').toEqual([]);
    const instructorPages = [...built].filter(p => p.startsWith('instructor/'));
    if (edition === 'student') expect(instructorPages, "instructor's pages in the student edition").toEqual([]);
    else expect(instructorPages.length, "instructor's pages").toBeGreaterThanOrEqual(3);
    console.log(`${edition}: ${seen.size} pages crawled, ${checked.size} internal links answered 200`);
  });
}

test('instructor: solutions are there, folded until clicked', async ({ page }) => {
  const name = fs.readdirSync(path.join(BOOK_DIR, 'instructor', 'html', 'notebooks')).find(f => f.startsWith('01_'));
  await open(page, `${BOOK_URL}/instructor/html/notebooks/${name}`);
  const solution = page.locator('.tag_exercise-solution').first();
  await solution.scrollIntoViewIfNeeded();
  const source = solution.locator('.cell_input').first();
  await expect(source).toBeHidden();
  await solution.locator('summary').first().click();
  await expect(source).toBeVisible();
  await expect(source).toContainText('BEGIN SOLUTION');
  const answer = page.locator('.exercise-solution.dropdown').first();
  await expect(answer).toBeVisible();
  await solution.screenshot({ path: path.join(RESULTS, 'book-instructor-solution.png') });
});
