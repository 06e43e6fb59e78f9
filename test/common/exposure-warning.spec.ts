import { jest } from '@jest/globals';
import { loadConfig } from '../../src/config/app-config.js';
import { isLoopbackHost, warnIfOpenWithoutAuth } from '../../src/common/exposure-warning.js';

test.each([
  ['127.0.0.1', true],
  ['127.1.2.3', true],
  ['localhost', true],
  ['::1', true],
  ['[::1]', true],
  ['0.0.0.0', false],
  ['::', false],
  ['10.0.0.5', false],
  ['127.example.com', false],
])('isLoopbackHost(%s) is %s', (host, loopback) => {
  expect(isLoopbackHost(host)).toBe(loopback);
});

test('warns only with auth off on a non-loopback address', () => {
  const warn = jest.fn<(entry: { msg: string }) => void>();
  const run = (env: Record<string, string>) => warnIfOpenWithoutAuth(loadConfig(env), { warn });
  expect(run({ AUTH_REQUIRED: 'false', HOST: '0.0.0.0' })).toBe(true);
  expect(warn).toHaveBeenCalledTimes(1);
  expect(warn.mock.calls[0][0].msg).toMatch(/AUTHENTICATION IS OFF/);
  expect(run({ AUTH_REQUIRED: 'false', HOST: '127.0.0.1' })).toBe(false);
  expect(run({ AUTH_REQUIRED: 'true', JWT_SECRET: 'a-secret-of-16-chars-or-more', HOST: '0.0.0.0' })).toBe(false);
  expect(warn).toHaveBeenCalledTimes(1);
});
