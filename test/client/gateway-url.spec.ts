import { displayUrl, GatewayUrlError, tunnelUrl } from '../../src/client/gateway-url.js';

describe('tunnelUrl', () => {
  test.each([
    ['http://localhost:3000', 'ws://localhost:3000/reverse-proxy/ws'],
    ['https://gw.example.com', 'wss://gw.example.com/reverse-proxy/ws'],
    ['ws://localhost:3000/', 'ws://localhost:3000/reverse-proxy/ws'],
    ['wss://gw.example.com:8443', 'wss://gw.example.com:8443/reverse-proxy/ws'],
    // A path prefix (gateway behind a reverse proxy) is kept.
    ['https://example.com/mcp-gateway', 'wss://example.com/mcp-gateway/reverse-proxy/ws'],
    ['https://example.com/a/b/', 'wss://example.com/a/b/reverse-proxy/ws'],
    // Already the tunnel URL, or its /reverse-proxy alias.
    ['ws://h/reverse-proxy/ws', 'ws://h/reverse-proxy/ws'],
    ['https://example.com/pre/reverse-proxy/ws/', 'wss://example.com/pre/reverse-proxy/ws'],
    ['http://h/pre/reverse-proxy', 'ws://h/pre/reverse-proxy/ws'],
    // The query survives (some proxies need it); the fragment does not.
    ['http://h/p?tenant=a#frag', 'ws://h/p/reverse-proxy/ws?tenant=a'],
  ])('%s -> %s', (input, expected) => {
    expect(tunnelUrl(input).href).toBe(expected);
  });

  test.each(['localhost:3000', 'ftp://h', 'not a url', ''])('refuses %j', (input) => {
    expect(() => tunnelUrl(input)).toThrow(GatewayUrlError);
  });

  test('displayUrl leaves out credentials and query', () => {
    expect(displayUrl(tunnelUrl('https://user:pw@h/p?token=abc'))).toBe('wss://h/p/reverse-proxy/ws');
  });
});
