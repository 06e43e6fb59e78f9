/** The token-expiry frames and register fields (docs/protocol.md, "Token expiry", "Caller identity"), as both sides parse them. */
import { parseGatewayFrame, parseTunnelFrame, TOKEN_REFRESH_LIMITS } from '../../src/protocol/envelopes.js';

test('register carries tokenRefresh and forwardIdentity as booleans, and refuses anything else', () => {
  const parsed = parseTunnelFrame({ type: 'register', server: { name: 's' }, tokenRefresh: true, forwardIdentity: false });
  expect(parsed).toEqual({ ok: true, value: { type: 'register', server: { name: 's' }, tokenRefresh: true, forwardIdentity: false } });
  expect(parseTunnelFrame({ type: 'register', server: { name: 's' } })).toEqual({
    ok: true,
    value: { type: 'register', server: { name: 's' } },
  });
  expect(parseTunnelFrame({ type: 'register', server: { name: 's' }, tokenRefresh: 'yes' })).toEqual({
    ok: false,
    error: 'register.tokenRefresh must be true or false',
  });
  expect(parseTunnelFrame({ type: 'register', server: { name: 's' }, forwardIdentity: 1 })).toMatchObject({ ok: false });
});

test('token_refresh needs a bounded, non-empty token string', () => {
  expect(parseTunnelFrame({ type: 'token_refresh', token: 'abc', extra: 1 })).toEqual({
    ok: true,
    value: { type: 'token_refresh', token: 'abc' },
  });
  for (const token of [undefined, '', 42, { a: 1 }, 'x'.repeat(TOKEN_REFRESH_LIMITS.token + 1)]) {
    const parsed = parseTunnelFrame({ type: 'token_refresh', token });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(`1 to ${TOKEN_REFRESH_LIMITS.token} characters`);
  }
  expect(parseTunnelFrame({ type: 'token_refresh', token: 'x'.repeat(TOKEN_REFRESH_LIMITS.token) }).ok).toBe(true);
});

test('the client parses token_expiring (an expiresAt is required) and token_refreshed (expiresAt optional)', () => {
  expect(parseGatewayFrame({ type: 'token_expiring', expiresAt: 1_700_000_000_000 })).toEqual({
    ok: true,
    value: { type: 'token_expiring', expiresAt: 1_700_000_000_000 },
  });
  for (const expiresAt of [undefined, -1, 1.5, '1700000000000']) {
    expect(parseGatewayFrame({ type: 'token_expiring', expiresAt }).ok).toBe(false);
  }
  expect(parseGatewayFrame({ type: 'token_refreshed', expiresAt: 5 })).toEqual({
    ok: true,
    value: { type: 'token_refreshed', expiresAt: 5 },
  });
  expect(parseGatewayFrame({ type: 'token_refreshed', expiresAt: 'soon' })).toEqual({ ok: true, value: { type: 'token_refreshed' } });
});
