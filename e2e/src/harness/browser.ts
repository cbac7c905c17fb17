import fs from 'node:fs';
import path from 'node:path';
import { WORKSPACE_ROOT } from './app-paths';
import { makeTempDir, removeTempDir } from './temp-dir';

// playwright-core ships no browser: it drives the system's Chromium (Debian package `chromium`).
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export type { Page };

/** Where the system's Chromium is looked for (FOG_E2E_CHROMIUM overrides). */
export const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];
/** Screenshots of the pages tests look at (ignored by git). */
export const SCREENSHOT_DIR = path.join(WORKSPACE_ROOT, 'e2e', 'screenshots');

const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

export function chromiumPath(): string | null {
  const candidates = process.env.FOG_E2E_CHROMIUM ? [process.env.FOG_E2E_CHROMIUM] : CHROMIUM_PATHS;
  return candidates.find((p) => fs.existsSync(p)) ?? null;
}

/** A headless Chromium with its own fresh profile; close() removes the profile. */
export interface HeadlessBrowser {
  page(): Promise<Page>;
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Start headless Chromium, or say why not: tests that look at pages run where the browser is
 * installed and say, in the test log, that they did not where it is not.
 */
export async function launchBrowser(): Promise<HeadlessBrowser | { skipped: string }> {
  const executablePath = chromiumPath();
  if (!executablePath) return { skipped: `no Chromium at ${CHROMIUM_PATHS.join(' or ')} (apt-get install -y chromium; or set FOG_E2E_CHROMIUM)` };
  const profile = makeTempDir('chromium-profile');
  let browser: BrowserContext;
  try {
    // A persistent context on a fresh profile directory: nothing is shared with other runs.
    browser = await chromium.launchPersistentContext(profile, { executablePath, headless: true, args: CHROMIUM_FLAGS, timeout: 60_000, viewport: { width: 1280, height: 1000 } });
  } catch (err) {
    removeTempDir(profile);
    throw new Error(`Chromium at ${executablePath} did not start: ${(err as Error).message}`);
  }
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return {
    page: async () => {
      const page = await browser.newPage();
      // The page must stand alone: any request that leaves loopback fails the test that reads this.
      page.on('request', (r) => {
        if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(r.url())) offsite.push(r.url());
      });
      return page;
    },
    screenshot: async (page, name) => {
      const file = path.join(SCREENSHOT_DIR, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: async () => {
      await browser.close();
      removeTempDir(profile);
    },
  };
}

/** Requests pages made to anything but loopback, since the start (should stay empty). */
export const offsite: string[] = [];
