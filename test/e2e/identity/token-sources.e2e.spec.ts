/**
 * Every token source against every door of the real gateway, with HS256 (JWT_SECRET) and an
 * identity provider's JWKS (served by a real HTTP server here, keys from jose) on at once, and
 * PUBLIC_URL as the audience. Each pair is accepted, or refused with 401, `invalid_token` and one
 * of the gateway's own messages: no library error text reaches the peer. Key rotation is real:
 * the JWKS server changes what it serves, the gateway refetches for the new `kid` and forgets the
 * verifications made with the key that went away.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { createHmac, createSecretKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serverResource } from '../../../src/auth/audience.js';
import { startGateway, TEST_SECRET, type RunningGateway } from '../../support/gateway.js';
import { streamableHeaders, initializeRequest } from '../../support/raw-mcp.js';
import { rawUpgrade } from '../../support/raw-upgrade.js';
import { serveThroughTunnel, type TunnelledServer } from '../../support/tunnelled-mcp-server.js';

const ISSUER = 'https://idp.test';
const PUBLIC_URL = 'https://mcp.example.com';
const SERVER = 'idp-notes';
const USER = 'alice@example.com';
/** What a refused peer may be told: the gateway's own texts, nothing from a library. */
const SAFE_MESSAGES = ['Invalid token', 'Token expired', 'Token audience not accepted'];

type KeyPair = { alg: string; kid: string; jwk: JWK; privateKey: CryptoKey; publicKey: CryptoKey };
async function keyPair(alg: string, kid: string): Promise<KeyPair> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, use: 'sig' } };
}

/** Signs with a JWKS key: issuer, audience and a 1 h lifetime unless `claims`/`opts` say otherwise. */
function idpToken(pair: KeyPair, opts: { aud?: string | string[]; iss?: string; exp?: number | null; kid?: string } = {}): Promise<string> {
  const jwt = new SignJWT({ sub: USER })
    .setProtectedHeader({ alg: pair.alg, kid: opts.kid ?? pair.kid, typ: 'JWT' })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? PUBLIC_URL)
    .setIssuedAt();
  if (opts.exp !== null) jwt.setExpirationTime(opts.exp ?? '1h');
  return jwt.sign(pair.privateKey);
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWS with this header and payload, HMAC-SHA256'd with the gateway's JWT_SECRET whatever the header says. */
function macWithSecret(header: object, payload: object): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${createHmac('sha256', TEST_SECRET).update(input).digest('base64url')}`;
}

let gw: RunningGateway;
let jwksServer: Server;
let served: { keys: JWK[] } = { keys: [] };
let jwksFetches = 0;
let tunnel: TunnelledServer;
const keys: Record<'rsa' | 'ec' | 'ed' | 'rotated' | 'retired', KeyPair> = {} as never;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  [keys.rsa, keys.ec, keys.ed, keys.rotated, keys.retired] = await Promise.all([
    keyPair('RS256', 'rsa-1'),
    keyPair('ES256', 'ec-1'),
    keyPair('EdDSA', 'ed-1'),
    keyPair('RS256', 'rsa-rotated'),
    keyPair('RS256', 'rsa-retired'),
  ]);
  served = { keys: [keys.rsa.jwk, keys.ec.jwk, keys.ed.jwk, keys.retired.jwk] };
  jwksServer = createServer((_req, res) => {
    jwksFetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(served));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  gw = await startGateway({
    JWT_JWKS_URL: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`,
    JWT_ISSUER: ISSUER,
    PUBLIC_URL,
    JWT_JWKS_COOLDOWN_MS: '1000',
  });
  tunnel = await serveThroughTunnel(gw.tunnelUrl, gw.mintToken(USER), SERVER, new McpServer({ name: 'notes', version: '1.0.0' }));

  const now = Math.floor(Date.now() / 1000);
  const rsaPem = await exportSPKI(keys.rsa.publicKey);
  Object.assign(tokens, {
    hs256: gw.mintToken(USER),
    rs256: await idpToken(keys.rsa),
    es256: await idpToken(keys.ec),
    eddsa: await idpToken(keys.ed),
    audienceArray: await idpToken(keys.rsa, { aud: ['another-api', PUBLIC_URL] }),
    serverResource: await idpToken(keys.rsa, { aud: serverResource(PUBLIC_URL, SERVER) }),
    otherServerResource: await idpToken(keys.rsa, { aud: serverResource(PUBLIC_URL, 'someone-else') }),
    rotated: await idpToken(keys.rotated),
    retired: await idpToken(keys.retired),
    expired: await idpToken(keys.rsa, { exp: now - 60 }),
    noExp: await idpToken(keys.rsa, { exp: null }),
    wrongAudience: await idpToken(keys.rsa, { aud: 'https://another-service.example.com' }),
    wrongIssuer: await idpToken(keys.rsa, { iss: 'https://evil-idp.test' }),
    unknownKid: await idpToken(keys.rsa, { kid: 'never-published' }),
    // Algorithm confusion: HS256 keyed with the provider's public key, which anyone can fetch.
    hsWithPublicKey: await new SignJWT({ sub: USER })
      .setProtectedHeader({ alg: 'HS256', kid: keys.rsa.kid })
      .setIssuer(ISSUER)
      .setAudience(PUBLIC_URL)
      .setExpirationTime('1h')
      .sign(createSecretKey(Buffer.from(rsaPem))),
    // And the other way: an RS256 header on a token MACed with the gateway's own secret.
    rsWithSecret: macWithSecret({ alg: 'RS256', kid: keys.rsa.kid }, { sub: USER, iss: ISSUER, aud: PUBLIC_URL, exp: now + 3600 }),
    algNone: `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: USER, iss: ISSUER, aud: PUBLIC_URL, exp: now + 3600 })}.`,
  });

  // The retired key works while published; then the provider rotates it out and a new key in.
  expect(await restStatus(tokens.retired)).toBe(200);
  served = { keys: [keys.rsa.jwk, keys.ec.jwk, keys.ed.jwk, keys.rotated.jwk] };
  // The refetch for the rotated key's kid waits for the cooldown since the first fetch.
  await new Promise((r) => setTimeout(r, 1100));
}, 30_000);

afterAll(async () => {
  await tunnel?.close();
  await gw?.close();
  await new Promise((r) => jwksServer?.close(r));
});

/** The REST door's status for a token. */
async function restStatus(token: string): Promise<number> {
  const res = await fetch(`${gw.httpUrl}/reverse-proxy/sessions`, { headers: { Authorization: `Bearer ${token}` } });
  await res.body?.cancel();
  return res.status;
}

interface Outcome {
  status: number;
  challenge: string | null;
  body: string;
}

/** A response's status, challenge and, unless it is a stream that stays open, its body. */
async function outcomeOf(res: Response, controller: AbortController): Promise<Outcome> {
  const streaming = res.headers.get('content-type')?.includes('text/event-stream') && res.status === 200;
  const body = streaming ? '' : await res.text();
  controller.abort();
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body };
}

async function fetchOutcome(url: string, init: RequestInit): Promise<Outcome> {
  const controller = new AbortController();
  const res = await fetch(url, { ...init, signal: controller.signal });
  return outcomeOf(res, controller);
}

/** The doors, each as: present this token, say what came back. */
const DOORS: Record<string, (token: string) => Promise<Outcome>> = {
  'tunnel upgrade (/reverse-proxy/ws)': (token) => upgrade(token),
  'REST (GET /reverse-proxy/sessions)': (token) =>
    fetchOutcome(`${gw.httpUrl}/reverse-proxy/sessions`, { headers: { Authorization: `Bearer ${token}` } }),
  'SSE stream (/reverse-proxy/sse/<id>)': (token) =>
    fetchOutcome(`${gw.httpUrl}/reverse-proxy/sse/${tunnel.sessionId}`, { headers: { Authorization: `Bearer ${token}` } }),
  'MCP Streamable HTTP (/servers/<name>/mcp)': (token) =>
    fetchOutcome(`${gw.httpUrl}/servers/${SERVER}/mcp`, {
      method: 'POST',
      headers: streamableHeaders(token),
      body: JSON.stringify(initializeRequest()),
    }),
  'legacy SSE (/servers/<name>/sse)': (token) =>
    fetchOutcome(`${gw.httpUrl}/servers/${SERVER}/sse`, { headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' } }),
};
const MCP_DOORS = ['MCP Streamable HTTP (/servers/<name>/mcp)', 'legacy SSE (/servers/<name>/sse)'];

/** A WebSocket upgrade with this token: 101 when it opened (then closed at once), else the refusal. */
const upgrade = (token: string): Promise<Outcome> => rawUpgrade(gw.tunnelUrl, { Authorization: `Bearer ${token}` });

/** The status each door answers a token it accepts with. */
const ACCEPTED: Record<string, number> = {
  'tunnel upgrade (/reverse-proxy/ws)': 101,
  'REST (GET /reverse-proxy/sessions)': 200,
  'SSE stream (/reverse-proxy/sse/<id>)': 200,
  'MCP Streamable HTTP (/servers/<name>/mcp)': 200,
  'legacy SSE (/servers/<name>/sse)': 200,
};

/** Every source: `accepted` on every door, `mcp-only` (accepted on the MCP doors, else refused for its audience), or refused with this message. */
const SOURCES: [string, string][] = [
  ['hs256', 'accepted'],
  ['rs256', 'accepted'],
  ['es256', 'accepted'],
  ['eddsa', 'accepted'],
  ['audienceArray', 'accepted'],
  ['rotated', 'accepted'],
  ['serverResource', 'mcp-only'],
  ['otherServerResource', 'Token audience not accepted'],
  ['retired', 'Invalid token'],
  ['expired', 'Token expired'],
  ['noExp', 'Invalid token'],
  ['wrongAudience', 'Token audience not accepted'],
  ['wrongIssuer', 'Invalid token'],
  ['unknownKid', 'Invalid token'],
  ['hsWithPublicKey', 'Invalid token'],
  ['rsWithSecret', 'Invalid token'],
  ['algNone', 'Invalid token'],
];

/**
 * A refusal: 401 with a Bearer challenge saying `invalid_token` (other parameters may follow), and a
 * safe message: the gateway's error body on the HTTP doors, the bare message on a refused upgrade.
 */
function expectRefused(outcome: Outcome, message: string, door: string): void {
  expect(outcome.status).toBe(401);
  expect(outcome.challenge).toMatch(/^Bearer (.*, )?error="invalid_token"(,|$)/);
  if (door.startsWith('tunnel')) {
    expect(outcome.body).toBe(message);
  } else {
    const body = JSON.parse(outcome.body) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['detail', 'error', 'message', 'statusCode']);
    expect(body.message).toBe(message);
  }
  expect(SAFE_MESSAGES).toContain(message);
  expect(outcome.body).not.toMatch(/ERR_|JWS|JWK|jose|signature|stack|\bat /i);
}

describe.each(SOURCES)('token source %s', (source, expected) => {
  test.each(Object.keys(DOORS))('%s', async (door) => {
    const outcome = await DOORS[door](tokens[source]);
    const accepted = expected === 'accepted' || (expected === 'mcp-only' && MCP_DOORS.includes(door));
    if (accepted) {
      expect(outcome.status).toBe(ACCEPTED[door]);
    } else {
      expectRefused(outcome, expected === 'mcp-only' ? 'Token audience not accepted' : expected, door);
    }
  });
});

test('the JWKS was fetched on first use and for the rotated kid, not once per token or per unknown kid', () => {
  // Sixty-odd JWKS tokens were presented; unknown kids refetch at most once per JWT_JWKS_COOLDOWN_MS (1 s here).
  expect(jwksFetches).toBeGreaterThanOrEqual(2);
  expect(jwksFetches).toBeLessThanOrEqual(5);
});
