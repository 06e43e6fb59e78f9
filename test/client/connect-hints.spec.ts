import { firstConnectionHint } from '../../src/client/connect-hints.js';
import { tunnelUrl } from '../../src/client/gateway-url.js';

const hint = (gateway: string, failure: Parameters<typeof firstConnectionHint>[1]) => firstConnectionHint(tunnelUrl(gateway), failure);

test.each([
  [
    'a refused port',
    'http://127.0.0.1:4000',
    { error: 'ECONNREFUSED' },
    /nothing accepts connections at 127\.0\.0\.1:4000; is the gateway running/,
  ],
  ['an unknown host', 'https://gw.example.invalid', { error: 'ENOTFOUND' }, /the host name gw\.example\.invalid does not resolve/],
  [
    'wss to plain HTTP',
    'wss://gw.example.com:3000/p',
    { error: 'EPROTO' },
    /does not speak TLS on that port; use http:\/\/gw\.example\.com:3000\/p /,
  ],
  [
    'ws to a TLS port (cut)',
    'ws://gw.example.com:443',
    { error: 'ECONNRESET' },
    /if the gateway is behind TLS, use https:\/\/gw\.example\.com:443/,
  ],
  [
    'ws to a TLS proxy (400)',
    'http://gw.example.com:443',
    { status: 400, statusText: 'The plain HTTP request was sent to HTTPS port' },
    /the gateway expects TLS; use https:/,
  ],
  [
    'an MCP URL (404)',
    'https://gw.example.com/pre/servers/notes/mcp',
    { status: 404 },
    /a server's MCP URL; give the gateway's own URL, https:\/\/gw\.example\.com\/pre$/,
  ],
  [
    'an MCP URL (reset by an older gateway)',
    'http://gw:3000/servers/notes/sse',
    { error: 'ECONNRESET' },
    /a server's MCP URL; give the gateway's own URL, http:\/\/gw:3000$/,
  ],
  [
    'another path (404)',
    'http://gw:3000/api',
    { status: 404, statusText: 'Not Found' },
    /\(HTTP 404: Not Found\): no tunnel endpoint there; --gateway takes the gateway's base URL/,
  ],
  [
    'a refused token',
    'http://gw:3000',
    { status: 401, statusText: 'Token expired' },
    /refused the connection \(HTTP 401: Token expired\); check the token/,
  ],
  ['an untrusted certificate', 'https://gw', { error: 'SELF_SIGNED_CERT_IN_CHAIN' }, /pass --ca <file>/],
  ['another status', 'http://gw:3000', { status: 502 }, /\(HTTP 502\): is this the MCP gateway's URL\?/],
  ['anything else', 'http://gw:3000', {}, /\(no answer\) \(--retry-forever keeps trying\)/],
])('%s', (_what, gateway, failure, expected) => {
  const line = hint(gateway, failure);
  expect(line).toMatch(expected);
  expect(line).not.toContain('\n');
});

test('credentials and query in the given URL never reach the hint', () => {
  expect(hint('http://user:secret@gw:3000/?token=abc', { error: 'ECONNREFUSED' })).not.toMatch(/secret|abc/);
});
