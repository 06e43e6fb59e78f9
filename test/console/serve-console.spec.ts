/** src/console/serve-console.ts on a bare Fastify: what it serves, with which headers, and what it does not. */
import Fastify from 'fastify';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSOLE_CSP, isConsoleRoute, serveConsole } from '../../src/console/serve-console.js';

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
async function serve(dir: string) {
  const fastify = Fastify();
  const served = serveConsole(fastify, dir);
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
