import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AppConfig } from '../config/app-config.js';

/** Where the console is served: `/console` redirects to `/console/`, its page. */
export const CONSOLE_PATH = '/console';

/** The page's settings (`{ oauthClientId? }`): public, like the page; it holds no secret. */
export const CONSOLE_CONFIG_PATH = `${CONSOLE_PATH}/config.json`;

/** What the page is told, and may reach, besides the gateway: all of it from the configuration. */
export interface ConsoleOptions {
  /** The console's public OAuth client (CONSOLE_OAUTH_CLIENT_ID); unset: the page offers the token field only. */
  oauthClientId?: string;
  /** Issuer URLs of the authorization servers (OAUTH_AUTHORIZATION_SERVERS): the page may fetch from their origins. */
  authorizationServers?: readonly string[];
}

/** The console's options from the configuration: OAuth sign-in only when a console client and the servers are both set. */
export function consoleOptionsOf(config: AppConfig): ConsoleOptions {
  const clientId = config.console.oauthClientId;
  return clientId !== undefined && config.oauth ? { oauthClientId: clientId, authorizationServers: config.oauth.authorizationServers } : {};
}

/**
 * What the page may load and where it may connect: its own scripts, styles and API only, plus the
 * authorization servers' origins when it signs in with them (their metadata and token endpoint; the
 * login page itself is a top-level navigation, which no directive here governs). No inline script or
 * style, no frame, no form target, no base URL: content from tunnels that ever reached the page as
 * markup could run nothing and send nothing elsewhere.
 */
export function consoleCsp(authorizationServers: readonly string[] = []): string {
  const origins = [...new Set(authorizationServers.map((server) => new URL(server).origin))];
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    ["connect-src 'self'", ...origins].join(' '),
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The policy of a console without OAuth sign-in: its own origin only. */
export const CONSOLE_CSP = consoleCsp();

/** Headers on every file of the console, with the policy `csp`. */
export function consoleHeaders(csp: string = CONSOLE_CSP): Readonly<Record<string, string>> {
  return {
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    // Fixed file names: the browser revalidates (ETag) instead of running an old build.
    'Cache-Control': 'no-cache',
  };
}

/** The built console (scripts/build-console.mjs): dist/console-ui, two levels above this file in src/ and in dist/. */
export function builtConsoleDir(): string {
  return fileURLToPath(new URL('../../dist/console-ui/', import.meta.url));
}

/** Whether a route pattern is one of the console's (public: the page holds no data; its API calls carry the token). */
export function isConsoleRoute(route: string): boolean {
  return route === CONSOLE_PATH || route.startsWith(`${CONSOLE_PATH}/`);
}

/**
 * Serves the console's files from `root` at /console/, and its settings at /console/config.json,
 * each with the console's headers (the policy computed once, here). Returns false, serving nothing,
 * when `root` holds no built console (a checkout that has not run `npm run build`).
 */
export function serveConsole(fastify: FastifyInstance, options: ConsoleOptions = {}, root: string = builtConsoleDir()): boolean {
  if (!existsSync(`${root}/index.html`)) return false;
  const headers = consoleHeaders(consoleCsp(options.authorizationServers));
  const settings = JSON.stringify(options.oauthClientId !== undefined ? { oauthClientId: options.oauthClientId } : {});
  // An exact route: find-my-way prefers it to the static wildcard below, so no file can shadow it.
  fastify.get(CONSOLE_CONFIG_PATH, (_req, reply) => reply.headers(headers).type('application/json; charset=utf-8').send(settings));
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
      reply.headers(headers);
    },
  });
  return true;
}
