/**
 * The browser the console's tests and screenshots use: Debian's Chromium (/usr/bin/chromium, which
 * .ci/run installs) driven by playwright-core, headless. One launch for test/e2e/console and
 * scripts/console-screenshots.mjs.
 */
import { chromium } from 'playwright-core';

/** Where Debian's package puts the browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Starts headless Chromium (no sandbox: CI runs as root; nothing in the background that calls home). */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
