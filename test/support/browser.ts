/**
 * What the browser tests (test/**\/*.browser.test.ts) share: the Chromium they drive, how it starts, the accessibility
 * check and the screenshots at two widths.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { type Browser, chromium, type Page } from "playwright-core";
import { expect } from "vitest";
import { ROOT } from "../../bench/lib/worker.mjs";

/**
 * Debian's Chromium: its old headless shell when installed (package chromium-headless-shell: the same Blink without
 * the full browser around it, about a quarter less CPU for these pages, the same axe results and widths), else the
 * full browser in headless mode. SCOREGATE_CHROMIUM names another binary.
 */
export const CHROMIUM =
  process.env.SCOREGATE_CHROMIUM ??
  ["/usr/lib/chromium/chromium-headless-shell", "/usr/lib/chromium/chromium"].find((p) => existsSync(p)) ??
  "/usr/lib/chromium/chromium";

/** Whether CHROMIUM exists; when it does not, says so loudly, and fails under CI (.ci/run installs it). */
export function haveChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  const msg = `\n!!! browser tests SKIPPED: no Chromium at ${CHROMIUM}. Install it with: apt-get install -y chromium chromium-headless-shell fonts-dejavu-core (.ci/run does)\n`;
  console.warn(msg);
  // CI installs Chromium (.ci/run): a missing browser there is a failure, not a skip.
  if (process.env.CI) throw new Error(msg);
  return false;
}

/** Starts CHROMIUM headless, without the background traffic a browser makes on its own. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
  });
}

/** Where the screenshots go (not committed). */
export const ARTIFACTS = join(ROOT, "test-artifacts", "screenshots");
/** With SCOREGATE_README_SCREENSHOTS=1, the README's screenshots are written here too. */
const README_IMAGES = process.env.SCOREGATE_README_SCREENSHOTS ? join(ROOT, "docs", "images") : null;
/**
 * Screenshots are for people, not assertions: written with SCOREGATE_SCREENSHOTS=1 (or SCOREGATE_README_SCREENSHOTS=1),
 * skipped otherwise, which saves about an eighth of the dashboard file's time (two whole-page captures per page). The
 * width checks run either way.
 */
export const SCREENSHOTS = Boolean(process.env.SCOREGATE_SCREENSHOTS || README_IMAGES);

/** Fails the test on every serious or critical axe violation of the page as it is now, each named with `label`. */
export async function axe(page: Page, label: string): Promise<void> {
  // The same rules and the same violations as the default analysis, without its cost (on /docs, about 11,000 elements,
  // 55 s against 14 s): legacy mode runs axe.run() in the page instead of runPartial() per frame plus finishRun() in a
  // second, blank page, and differs only for cross-origin frames, which these pages cannot have (every request that
  // leaves the Worker is aborted, and each file asserts there were none); resultTypes keeps the full result for
  // violations, the only list read here, and one example node for passes and incomplete checks.
  const result = await new AxeBuilder({ page })
    .setLegacyMode(true)
    .options({ resultTypes: ["violations"] })
    .analyze();
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(
    bad.map((v) => `${label}: ${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`),
    label,
  ).toEqual([]);
}

/**
 * Checks the page's width at 375 px and, with SCREENSHOTS, saves it at 1280 px and at 375 px, whole pages by default; `fullPage: false` keeps the first screen only, for
 * /docs (about 20,000 px tall at 1280 px, 43,000 at 375 px: seconds to capture, and a picture no one reads). The
 * width check covers the whole page either way. The page is left at 1280 px unless `restore` is false.
 */
export async function shoot(page: Page, name: string, readmeName?: string, fullPage = true, restore = true): Promise<void> {
  if (SCREENSHOTS) mkdirSync(ARTIFACTS, { recursive: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  if (SCREENSHOTS) await page.screenshot({ path: join(ARTIFACTS, `${name}-desktop.png`), fullPage });
  if (README_IMAGES !== null && readmeName !== undefined) {
    mkdirSync(README_IMAGES, { recursive: true });
    await page.screenshot({ path: join(README_IMAGES, readmeName), fullPage: false });
  }
  await page.setViewportSize({ width: 375, height: 812 });
  if (SCREENSHOTS) await page.screenshot({ path: join(ARTIFACTS, `${name}-375.png`), fullPage });
  // At phone width nothing but the scrollable table wrappers may be wider than the screen.
  const width = await page.evaluate(
    () => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth,
  );
  expect(width, `${name} at 375 px`).toBeLessThanOrEqual(375);
  // back to the desktop width for the test's next steps; `restore: false` when the page is closed next (on /docs the
  // relayout alone costs over a second)
  if (restore) await page.setViewportSize({ width: 1280, height: 900 });
}
