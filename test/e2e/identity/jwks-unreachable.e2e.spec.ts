/**
 * An identity provider whose keys cannot be fetched: no token can be checked, so the gateway
 * answers 503 with Retry-After (no challenge: the client's token may be fine) on the HTTP doors and
 * the tunnel upgrade, and accepts the same token once the keys can be fetched.
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { startGateway, type RunningGateway } from '../../support/gateway.js';
import { http } from '../../support/http.js';
import { eventually } from '../../support/wait.js';

const ISSUER = 'https://idp.test';
const AUDIENCE = 'https://mcp.example.com';

let gw: RunningGateway;
let jwksPort: number;
let jwksServer: Server | undefined;
let token: string;
let jwks: object;

/** A port nothing listens on, yet (the provider comes up on it later). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  return port;
}

/** The status and headers a tunnel upgrade is answered with when it is refused. */
function upgradeRefusal(url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
      ws.terminate();
    });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => undefined);
  });
}

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', use: 'sig' }] };
  token = await new SignJWT({ sub: 'alice@example.com' })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setExpirationTime('1h')
    .sign(privateKey);
  jwksPort = await closedPort();
  gw = await startGateway({
    JWT_JWKS_URL: `http://127.0.0.1:${jwksPort}/jwks`,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWT_JWKS_COOLDOWN_MS: '1000',
  });
});

afterAll(async () => {
  await gw?.close();
  await new Promise((r) => (jwksServer ? jwksServer.close(r) : r(undefined)));
});

test('keys unreachable: 503 with Retry-After and no challenge on REST and the tunnel upgrade; accepted once the keys come', async () => {
  const refused = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token });
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toBe('30');
  expect(refused.headers.get('www-authenticate')).toBeNull();
  expect(refused.text).toContain('Tokens cannot be checked right now');
  expect(refused.text).not.toMatch(/ECONNREFUSED|fetch failed|JWKS/);

  const upgrade = await upgradeRefusal(gw.tunnelUrl);
  expect(upgrade.status).toBe(503);
  expect(upgrade.headers['retry-after']).toBe('30');
  expect(upgrade.headers['www-authenticate']).toBeUndefined();

  jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks)));
  await new Promise<void>((r) => jwksServer!.listen(jwksPort, '127.0.0.1', r));
  // The next fetch may wait out the cooldown (1 s here).
  await eventually(async () => (await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token })).status === 200, 'accepted', 10_000);
});
