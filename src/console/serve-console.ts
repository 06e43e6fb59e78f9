import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where the console is served: `/console` redirects to `/console/`, its page. */
export const CONSOLE_PATH = '/console';

/**
 * What the page may load and where it may connect: its own scripts, styles and API only. No inline
 * script or style, no frame, no form target, no base URL: content from tunnels that ever reached the
 * page as markup could run nothing and send nothing elsewhere.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers on every file of the console. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  // Fixed file names: the browser revalidates (ETag) instead of running an old build.
  'Cache-Control': 'no-cache',
};

/** The built console (scripts/build-console.mjs): dist/console-ui, two levels above this file in src/ and in dist/. */
export function builtConsoleDir(): string {
  return fileURLToPath(new URL('../../dist/console-ui/', import.meta.url));
}

/** Whether a route pattern is one of the console's (public: the page holds no data; its API calls carry the token). */
export function isConsoleRoute(route: string): boolean {
  return route === CONSOLE_PATH || route.startsWith(`${CONSOLE_PATH}/`);
}

/**
 * Serves the console's files from `root` at /console/ with CONSOLE_HEADERS. Returns false, serving
 * nothing, when `root` holds no built console (a checkout that has not run `npm run build`).
 */
export function serveConsole(fastify: FastifyInstance, root: string = builtConsoleDir()): boolean {
  if (!existsSync(`${root}/index.html`)) return false;
  void fastify.register(fastifyStatic, {
    root,
    prefix: CONSOLE_PATH,
    // `/console` → 301 `/console/`, so the page's relative asset URLs resolve under /console/.
    redirect: true,
    index: ['index.html'],
    // Nest may decorate the reply itself; the console needs no sendFile.
    decorateReply: false,
    cacheControl: false,
    dotfiles: 'deny',
    setHeaders: (reply) => {
      reply.headers(CONSOLE_HEADERS);
    },
  });
  return true;
}
