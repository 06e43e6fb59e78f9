import { ForbiddenException, type ExecutionContext } from '@nestjs/common';
import { loadConfig } from '../../../src/config/app-config.js';
import { HostAllowList } from '../../../src/config/allowed-hosts.js';
import { HostGuard } from '../../../src/mcp/http/host.guard.js';
import { OriginGuard } from '../../../src/mcp/http/origin.guard.js';

const config = (env: Record<string, string> = {}) => loadConfig({ AUTH_REQUIRED: 'false', PORT: '3000', ...env });
const hosts = (env: Record<string, string> = {}) => new HostAllowList(config(env));
const context = (headers: Record<string, string>) =>
  ({ switchToHttp: () => ({ getRequest: () => ({ headers }) }) }) as unknown as ExecutionContext;

/** The guard's verdict: true, or the 403 message. */
function verdict(guard: HostGuard | OriginGuard, headers: Record<string, string>): true | string {
  try {
    return guard.canActivate(context(headers)) as true;
  } catch (err) {
    expect(err).toBeInstanceOf(ForbiddenException);
    return (err as ForbiddenException).message;
  }
}

describe('HostGuard', () => {
  test.each(['localhost:3000', '127.0.0.1:3000', '[::1]:3000', 'LOCALHOST:3000'])('loopback on the listening port passes: %s', (host) => {
    expect(verdict(new HostGuard(hosts()), { host })).toBe(true);
  });

  test.each([
    ['a rebound name', 'evil.example.com', 'Invalid Host: evil.example.com'],
    ['a rebound name with the right port', 'evil.example.com:3000', 'Invalid Host: evil.example.com'],
    ['loopback on another port', 'localhost:4000', 'Invalid Host: localhost'],
    ['loopback without a port (80) when listening on 3000', 'localhost', 'Invalid Host: localhost'],
    ['a name looking like loopback', 'localhost.evil.example', 'Invalid Host: localhost.evil.example'],
    ['junk', 'a b/c', 'Invalid Host header'],
    ['credentials in the host', 'user@localhost:3000', 'Invalid Host header'],
  ])('refuses %s (403)', (_what, host, message) => {
    expect(verdict(new HostGuard(hosts()), { host })).toBe(message);
  });

  test('refuses a request without Host', () => {
    expect(verdict(new HostGuard(hosts()), {})).toBe('Missing Host header');
  });

  test('with PORT=0 (tests) any port on a loopback name passes, other names do not', () => {
    const guard = new HostGuard(hosts({ PORT: '0' }));
    expect(verdict(guard, { host: '127.0.0.1:54321' })).toBe(true);
    expect(verdict(guard, { host: 'localhost' })).toBe(true);
    expect(verdict(guard, { host: 'evil.example.com:54321' })).toBe('Invalid Host: evil.example.com');
  });

  test("PUBLIC_URL's host passes (any port unless the URL has one)", () => {
    expect(verdict(new HostGuard(hosts({ PUBLIC_URL: 'https://mcp.example.com' })), { host: 'mcp.example.com' })).toBe(true);
    expect(verdict(new HostGuard(hosts({ PUBLIC_URL: 'https://MCP.example.com' })), { host: 'mcp.example.com:443' })).toBe(true);
    const withPort = new HostGuard(hosts({ PUBLIC_URL: 'http://mcp.example.com:8080' }));
    expect(verdict(withPort, { host: 'mcp.example.com:8080' })).toBe(true);
    expect(verdict(withPort, { host: 'mcp.example.com:9090' })).toBe('Invalid Host: mcp.example.com');
  });

  test('ALLOWED_HOSTS adds names, with or without a port; * allows any', () => {
    const guard = new HostGuard(hosts({ ALLOWED_HOSTS: 'gw.internal, Other.Example:8443' }));
    expect(verdict(guard, { host: 'gw.internal:1234' })).toBe(true);
    expect(verdict(guard, { host: 'other.example:8443' })).toBe(true);
    expect(verdict(guard, { host: 'other.example:8444' })).toBe('Invalid Host: other.example');
    expect(verdict(new HostGuard(hosts({ ALLOWED_HOSTS: '*' })), { host: 'anything.example' })).toBe(true);
  });
});

describe('OriginGuard', () => {
  test('no Origin: not a browser, passes', () => {
    expect(verdict(new OriginGuard(hosts()), { host: 'evil.example.com' })).toBe(true);
  });

  test('an Origin matching the request Host is NOT enough (DNS rebinding)', () => {
    expect(verdict(new OriginGuard(hosts()), { host: 'evil.example.com', origin: 'http://evil.example.com' })).toBe('Origin not allowed');
  });

  test.each(['http://localhost:3000', 'http://127.0.0.1:3000', 'http://[::1]:3000'])(
    "the gateway's own loopback origin passes: %s",
    (origin) => {
      expect(verdict(new OriginGuard(hosts()), { origin })).toBe(true);
    },
  );

  test('loopback on another port is another origin', () => {
    expect(verdict(new OriginGuard(hosts()), { origin: 'http://localhost:6274' })).toBe('Origin not allowed');
  });

  test('PUBLIC_URL, MCP_ALLOWED_ORIGINS and ALLOWED_HOSTS names are allowed origins', () => {
    const guard = new OriginGuard(
      hosts({ PUBLIC_URL: 'https://mcp.example.com', MCP_ALLOWED_ORIGINS: 'http://localhost:6274', ALLOWED_HOSTS: 'gw.internal' }),
    );
    expect(verdict(guard, { origin: 'https://mcp.example.com' })).toBe(true);
    expect(verdict(guard, { origin: 'http://localhost:6274' })).toBe(true);
    expect(verdict(guard, { origin: 'https://gw.internal' })).toBe(true);
    expect(verdict(guard, { origin: 'https://evil.example' })).toBe('Origin not allowed');
    expect(verdict(guard, { origin: 'null' })).toBe('Origin not allowed');
  });

  test('ALLOWED_HOSTS=* lets any Host through but no web page: origins still need listing', () => {
    expect(verdict(new OriginGuard(hosts({ ALLOWED_HOSTS: '*' })), { origin: 'http://evil.example.com' })).toBe('Origin not allowed');
    expect(verdict(new OriginGuard(hosts({ MCP_ALLOWED_ORIGINS: '*' })), { origin: 'http://evil.example.com' })).toBe(true);
  });
});

test('HostAllowList: an origin with a default port matches a rule for that port', () => {
  const list = new HostAllowList(config({ PORT: '443', ALLOWED_HOSTS: '' }));
  expect(list.allowsOrigin('https://localhost')).toBe(true);
  expect(list.allowsOrigin('http://localhost')).toBe(false);
  expect(list.allowsHost('localhost:443')).toBe(true);
});

test('HostAllowList remembers its answers per Host, the same on every ask, and stays bounded under made-up names', () => {
  const list = hosts();
  for (let round = 0; round < 2; round++) {
    expect(list.allowsHost('localhost:3000')).toBe(true);
    expect(list.allowsHost('evil.example:3000')).toBe(false);
    expect(list.allowsHost('localhost:3000/path')).toBe(false);
  }
  for (let i = 0; i < 1000; i++) expect(list.allowsHost(`rebound-${i}.example:3000`)).toBe(false);
  expect((list as unknown as { hostVerdicts: Map<string, boolean> }).hostVerdicts.size).toBeLessThanOrEqual(256);
  expect(list.allowsHost('localhost:3000')).toBe(true);
  expect(list.allowsHost(`${'a'.repeat(300)}:3000`)).toBe(false);
});
