import type { Browser } from 'playwright-core';

/** Where Debian's package puts the browser. */
export declare const CHROMIUM: string;

/** Starts headless Chromium (no sandbox: CI runs as root; nothing in the background that calls home). */
export declare function launchChromium(): Promise<Browser>;
