/** src/console/serve-console.ts on a bare Fastify: what it serves, with which headers, and what it does not. */
import Fastify from 'fastify';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/app-config.js';
import {
  CONSOLE_CSP,
  consoleCsp,
  consoleOptionsOf,
  isConsoleRoute,
  serveConsole,
  type ConsoleOptions,
} from '../../src/console/serve-console.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'console-ui-'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>console</title>');
  writeFileSync(join(root, 'console.js'), 'export {};');
  writeFileSync(join(root, '.hidden'), 'secret');
  mkdirSync(join(root, 'sub'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Fastify with the console on a real loopback port (light-my-request's inject needs an ESM-only module jest cannot load). */
async function serve(dir: string, options: ConsoleOptions = {}) {
  const fastify = Fastify();
  const served = serveConsole(fastify, options, dir);
  const base = await fastify.listen({ port: 0, host: '127.0.0.1' });
  const get = async (path: string) => {
    const res = await fetch(base + path, { redirect: 'manual' });
    return { statusCode: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
  };
  return { fastify, served, get };
}

test('serves the page at /console/ (and /console redirects there), each file with the strict headers', async () => {
  const { fastify, served, get } = await serve(root);
  expect(served).toBe(true);
  const redirect = await get('/console');
  expect([redirect.statusCode, redirect.headers.location]).toEqual([301, '/console/']);
  for (const [path, type] of [
    ['/console/', 'text/html'],
    ['/console/index.html', 'text/html'],
    ['/console/console.js', 'javascript'],
  ]) {
    const res = await get(path);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain(type);
    expect(res.headers).toMatchObject({
      'content-security-policy': CONSOLE_CSP,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    });
  }
  expect(CONSOLE_CSP).toContain("default-src 'none'");
  expect(CONSOLE_CSP).toContain("script-src 'self'");
  expect(CONSOLE_CSP).not.toContain('unsafe');
  await fastify.close();
});

test('nothing outside its folder, no dotfile, no unknown file', async () => {
  const { fastify, get } = await serve(root);
  for (const path of ['/console/.hidden', '/console/../package.json', '/console/%2e%2e/%2e%2e/etc/passwd', '/console/missing.js']) {
    expect((await get(path)).statusCode).toBeGreaterThanOrEqual(400);
  }
  expect((await get('/console/.hidden')).body).not.toContain('secret');
  await fastify.close();
});

test('a folder without a built console serves nothing', async () => {
  const { fastify, served, get } = await serve(join(root, 'sub'));
  expect(served).toBe(false);
  expect((await get('/console/')).statusCode).toBe(404);
  await fastify.close();
});

test("the console's routes are /console and what is below it, nothing else", () => {
  expect(['/console', '/console/', '/console/*'].every(isConsoleRoute)).toBe(true);
  expect(['/consolex', '/reverse-proxy/console', '/'].some(isConsoleRoute)).toBe(false);
});

test('/console/config.json: {} without a console client, so the page offers the token field only', async () => {
  const { fastify, get } = await serve(root);
  const res = await get('/console/config.json');
  expect([res.statusCode, res.headers['content-type'], JSON.parse(res.body)]).toEqual([200, 'application/json; charset=utf-8', {}]);
  expect(res.headers['content-security-policy']).toBe(CONSOLE_CSP);
  await fastify.close();
});

test("with a console client: config.json names it, and connect-src adds the authorization servers' origins, nothing else", async () => {
  // A file of that name in the build must not shadow the configured answer.
  writeFileSync(join(root, 'config.json'), '{"oauthClientId":"from-a-file"}');
  const { fastify, get } = await serve(root, {
    oauthClientId: 'mcp-console',
    authorizationServers: ['https://login.example.com/realms/mcp', 'https://login.example.com/realms/other', 'http://127.0.0.1:8080'],
  });
  const config = await get('/console/config.json');
  expect(JSON.parse(config.body)).toEqual({ oauthClientId: 'mcp-console' });
  const widened = "connect-src 'self' https://login.example.com http://127.0.0.1:8080";
  for (const res of [config, await get('/console/'), await get('/console/console.js')]) {
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain(`; ${widened}; `);
    // Every other directive as without OAuth.
    expect(csp.replace(widened, "connect-src 'self'")).toBe(CONSOLE_CSP);
  }
  await fastify.close();
});

test('consoleOptionsOf: OAuth sign-in only with a console client and authorization servers', () => {
  const base = { JWT_SECRET: 'a-secret-of-sixteen+', PUBLIC_URL: 'https://mcp.example.com' };
  const servers = { OAUTH_AUTHORIZATION_SERVERS: 'https://login.example.com/realms/mcp' };
  expect(consoleOptionsOf(loadConfig(base))).toEqual({});
  expect(consoleOptionsOf(loadConfig({ ...base, ...servers }))).toEqual({});
  expect(consoleOptionsOf(loadConfig({ ...base, ...servers, CONSOLE_OAUTH_CLIENT_ID: 'mcp-console' }))).toEqual({
    oauthClientId: 'mcp-console',
    authorizationServers: ['https://login.example.com/realms/mcp'],
  });
  expect(consoleCsp([])).toBe(CONSOLE_CSP);
});
