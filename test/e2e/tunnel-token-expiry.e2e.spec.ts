/**
 * A tunnel's token expiring (docs/protocol.md, "Token expiry"), against the real gateway with raw
 * WebSocket clients: older clients closed at exp (unless TUNNEL_EXPIRY=ignore), refresh-capable ones
 * warned and refreshed (same user only), suspended sessions ended, expired tokens unable to resume.
 */
import { SessionRegistry } from '../../src/reverse-proxy/tunnel/session-registry.js';
import { FakeTunnel, closeTunnels, type Frame } from '../support/fake-tunnel.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { eventually } from '../support/wait.js';

const tunnels: FakeTunnel[] = [];
const gateways: RunningGateway[] = [];

afterEach(async () => {
  await closeTunnels(tunnels);
  await Promise.all(gateways.splice(0).map((gw) => gw.close()));
});

async function gateway(env: Record<string, string> = {}): Promise<RunningGateway> {
  // Warned at most 1 s before exp (or half the token's remaining life).
  const gw = await startGateway({ TUNNEL_TOKEN_WARN_MS: '1000', ...env });
  gateways.push(gw);
  return gw;
}

/** Connects with `token` and registers; `extra` goes into the register frame (tokenRefresh, resumable...). */
async function register(gw: RunningGateway, token: string, extra: Frame = {}, name = 'srv'): Promise<{ tunnel: FakeTunnel; ack: Frame }> {
  const tunnel = await FakeTunnel.connect(gw.tunnelUrl, { Authorization: `Bearer ${token}` });
  tunnels.push(tunnel);
  tunnel.send({ type: 'register', server: { name, capabilities: { tools: {} } }, ...extra });
  const ack = await tunnel.next((f) => f.type === 'register_ack');
  expect(ack.status).toBe('success');
  await tunnel.next((f) => f.type === 'register_complete');
  return { tunnel, ack };
}

/** The `exp` of a token minted now with `seconds` to live, in ms (exp has a resolution of one second). */
const expOf = (token: string): number => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp * 1000;

const until = (at: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));

test('an older client is closed at exp with 1008 "token expired"; its callers in flight get a clear error', async () => {
  const gw = await gateway();
  const short = gw.mintToken('alice', { expiresIn: 2 });
  const { tunnel, ack } = await register(gw, short);
  const call = http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${ack.sessionId}/request`, {
    token: gw.mintToken('alice'),
    body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'slow' } },
  });
  await tunnel.next((f) => f.type === 'request' && f.payload.method === 'tools/call');
  expect(await tunnel.closed).toBe(1008);
  expect(tunnel.closeReason).toBe('token expired');
  expect(Date.now()).toBeGreaterThanOrEqual(expOf(short));
  // It never announced token refresh, so it was never warned.
  expect(tunnel.frames.filter((f) => f.type === 'token_expiring')).toEqual([]);
  const answer = await call;
  expect(answer.status).toBe(502);
  expect(answer.body.message).toBe('The tunnel closed (token expired)');
});

test('TUNNEL_EXPIRY=ignore keeps an older client open past exp; a refresh-capable one is still closed', async () => {
  const gw = await gateway({ TUNNEL_EXPIRY: 'ignore' });
  const short = gw.mintToken('alice', { expiresIn: 2 });
  const older = (await register(gw, short, {}, 'older')).tunnel;
  const newer = (await register(gw, short, { tokenRefresh: true }, 'newer')).tunnel;
  await newer.next((f) => f.type === 'token_expiring');
  expect(await newer.closed).toBe(1008);
  expect(newer.closeReason).toBe('token expired');
  await until(expOf(short) + 500);
  older.send({ type: 'heartbeat' });
  await older.next((f) => f.type === 'heartbeat');
  expect(older.closeCode).toBeUndefined();
});

test('a refresh-capable client is warned ahead, and a fresh token of the same user keeps the tunnel past exp', async () => {
  const gw = await gateway();
  const short = gw.mintToken('alice', { expiresIn: 3 });
  const { tunnel, ack } = await register(gw, short, { tokenRefresh: true });
  const warning = await tunnel.next((f) => f.type === 'token_expiring');
  expect(warning).toEqual({ type: 'token_expiring', expiresAt: expOf(short) });
  expect(Date.now()).toBeLessThan(expOf(short));

  const fresh = gw.mintToken('alice', { expiresIn: 3600 });
  tunnel.send({ type: 'token_refresh', token: fresh });
  expect(await tunnel.next((f) => f.type === 'token_refreshed' || f.type === 'error')).toEqual({
    type: 'token_refreshed',
    expiresAt: expOf(fresh),
  });

  await until(expOf(short) + 500);
  expect(tunnel.closeCode).toBeUndefined();
  tunnel.autoAnswer(() => ({ result: { ok: true } }));
  const answer = await http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${ack.sessionId}/request`, {
    token: gw.mintToken('alice'),
    body: { jsonrpc: '2.0', id: 7, method: 'ping' },
  });
  expect(answer.status).toBe(200);
  expect(answer.body).toMatchObject({ id: 7, result: { ok: true } });
});

test("another user's token, a bad token and a flood are refused: the tunnel keeps its old exp and is closed then", async () => {
  const gw = await gateway();
  const short = gw.mintToken('alice', { expiresIn: 3 });
  const { tunnel } = await register(gw, short, { tokenRefresh: true });
  await tunnel.next((f) => f.type === 'token_expiring');

  tunnel.send({ type: 'token_refresh', token: gw.mintToken('bob', { expiresIn: 3600 }) });
  expect(await tunnel.next((f) => f.type === 'error')).toEqual({
    type: 'error',
    message: 'Token refresh refused: the token is for another user',
  });
  // Within a second of the last: refused without being checked.
  tunnel.send({ type: 'token_refresh', token: gw.mintToken('alice', { expiresIn: 3600 }) });
  expect((await tunnel.next((f) => f.type === 'error')).message).toBe('Token refresh refused: too many refreshes; at most one a second');
  tunnel.send({ type: 'token_refresh', token: 'x'.repeat(20_000) });
  expect((await tunnel.next((f) => f.type === 'error')).message).toMatch(/"token_refresh" frame needs a "token" of 1 to 16384 characters/);

  expect(await tunnel.closed).toBe(1008);
  expect(tunnel.closeReason).toBe('token expired');
  expect(tunnel.frames.filter((f) => f.type === 'token_refreshed')).toEqual([]);
});

test('a suspended session whose token expires ends; an expired token cannot resume it', async () => {
  const gw = await gateway({ TUNNEL_RESUME_GRACE_MS: '60000' });
  const short = gw.mintToken('alice', { expiresIn: 2 });
  const { tunnel, ack } = await register(gw, short, { resumable: true });
  expect(ack.resumeToken).toEqual(expect.any(String));
  const registry = gw.app.get(SessionRegistry);
  tunnel.ws.terminate();
  const held = () => registry.local().find((s) => s.id === ack.sessionId);
  await eventually(() => held()?.suspended, 'the session to be suspended');

  await eventually(() => held() === undefined, 'the suspended session to end at exp', 5000);
  expect(Date.now()).toBeGreaterThanOrEqual(expOf(short));
  await expect(FakeTunnel.connect(gw.tunnelUrl, { Authorization: `Bearer ${short}` })).rejects.toMatchObject({ status: 401 });
});

test("a resume's upgrade token becomes the session's: a fresher one carries the session past the old exp", async () => {
  const gw = await gateway({ TUNNEL_RESUME_GRACE_MS: '60000' });
  const short = gw.mintToken('alice', { expiresIn: 2 });
  const { tunnel, ack } = await register(gw, short, { resumable: true, tokenRefresh: true });
  tunnel.ws.terminate();
  const registry = gw.app.get(SessionRegistry);
  await eventually(() => registry.local().find((s) => s.id === ack.sessionId)?.suspended, 'the session to be suspended');

  const fresh = gw.mintToken('alice', { expiresIn: 3600 });
  const again = await FakeTunnel.connect(gw.tunnelUrl, { Authorization: `Bearer ${fresh}` });
  tunnels.push(again);
  again.send({ type: 'register', server: { name: 'srv' }, resume: { token: ack.resumeToken, lastReceived: 0 } });
  expect(await again.next((f) => f.type === 'register_ack')).toMatchObject({ status: 'success', resumed: true, sessionId: ack.sessionId });

  await until(expOf(short) + 500);
  expect(again.closeCode).toBeUndefined();
  expect(registry.local().find((s) => s.id === ack.sessionId)?.isOpen).toBe(true);
});
