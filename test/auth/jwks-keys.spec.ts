import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { createSecretKey } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JWKS_LIMITS, JwksKeys, loadJwks } from '../../src/auth/jwks-keys.js';
import { TokenKeys } from '../../src/auth/token-keys.js';

const SECRET = createSecretKey(Buffer.from('unit-test-secret-0123456789'));

async function keyPair(alg: string, kid: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid };
  return { jwk, privateKey, kid, alg };
}
type Pair = Awaited<ReturnType<typeof keyPair>>;

const sign = (pair: Pair, header: Record<string, unknown> = {}) =>
  new SignJWT({ sub: 'alice' })
    .setProtectedHeader({ alg: pair.alg, kid: pair.kid, ...header })
    .setExpirationTime('1h')
    .sign(pair.privateKey);

/** A JwksKeys on a fake clock whose document is whatever `served` holds; `loads` counts the fetches. */
function jwksOn(served: { keys: JWK[] }, extra: { onKeysRemoved?: () => void } = {}) {
  const clock = { now: 1_000_000 };
  const counter = { loads: 0 };
  const keys = new JwksKeys({
    url: 'https://idp.example/jwks',
    refreshMs: 300_000,
    cooldownMs: 30_000,
    now: () => clock.now,
    load: async () => {
      counter.loads++;
      return structuredClone(served);
    },
    ...extra,
  });
  return { clock, counter, keys };
}

let rsa: Pair, ec: Pair, ed: Pair, rsa2: Pair;
beforeAll(async () => {
  [rsa, ec, ed, rsa2] = await Promise.all([
    keyPair('RS256', 'rsa-1'),
    keyPair('ES256', 'ec-1'),
    keyPair('EdDSA', 'ed-1'),
    keyPair('RS256', 'rsa-2'),
  ]);
});

const ALL = ['HS256', 'RS256', 'ES256', 'EdDSA'];
const verifyWith = (keys: TokenKeys, token: string, algorithms = ALL) => jwtVerify(token, keys.keyFor, { algorithms });

describe('key selection (TokenKeys)', () => {
  test('each token gets the key its alg and kid name: RSA, EC, Ed25519 from the JWKS, HS from the secret', async () => {
    const { keys: jwks } = jwksOn({ keys: [rsa.jwk, ec.jwk, ed.jwk] });
    const keys = new TokenKeys(SECRET, jwks);
    for (const pair of [rsa, ec, ed]) expect((await verifyWith(keys, await sign(pair))).protectedHeader.alg).toBe(pair.alg);
    const hs = await new SignJWT({ sub: 'a' }).setProtectedHeader({ alg: 'HS256' }).sign(SECRET);
    expect((await verifyWith(keys, hs)).payload.sub).toBe('a');
  });

  test('a kid of a key of another type is no match: an ES256 token naming the RSA key is refused', async () => {
    const keys = new TokenKeys(SECRET, jwksOn({ keys: [rsa.jwk, ec.jwk] }).keys);
    await expect(verifyWith(keys, await sign(ec, { kid: rsa.kid }))).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  test('HS256 "signed" with the public key as the secret is checked against JWT_SECRET, and fails', async () => {
    const keys = new TokenKeys(SECRET, jwksOn({ keys: [rsa.jwk] }).keys);
    const publicAsSecret = new TextEncoder().encode(JSON.stringify(rsa.jwk));
    const forged = await new SignJWT({ sub: 'mallory' }).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(publicAsSecret);
    await expect(verifyWith(keys, forged)).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
  });

  test('HS256 with no JWT_SECRET finds no key, even with a JWKS; RS256 with no JWKS finds none either', async () => {
    const jwksOnly = new TokenKeys(undefined, jwksOn({ keys: [rsa.jwk] }).keys);
    const hs = await new SignJWT({ sub: 'a' }).setProtectedHeader({ alg: 'HS256' }).sign(SECRET);
    await expect(verifyWith(jwksOnly, hs)).rejects.toMatchObject({ code: 'ERR_JOSE_NOT_SUPPORTED' });
    await expect(verifyWith(new TokenKeys(SECRET, undefined), await sign(rsa))).rejects.toMatchObject({ code: 'ERR_JOSE_NOT_SUPPORTED' });
  });

  test('a JWKS cannot hand out an HMAC key: an oct key in it is never used', async () => {
    const oct: JWK = { kty: 'oct', k: Buffer.from('attacker-chosen-secret-0123456789').toString('base64url'), kid: 'oct-1' };
    const keys = new TokenKeys(undefined, jwksOn({ keys: [oct, rsa.jwk] }).keys);
    const forged = await new SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'HS256', kid: 'oct-1' })
      .sign(Buffer.from('attacker-chosen-secret-0123456789'));
    await expect(verifyWith(keys, forged)).rejects.toMatchObject({ code: 'ERR_JOSE_NOT_SUPPORTED' });
  });

  test('an algorithm outside the allowed list is refused before any key is looked for', async () => {
    const { keys: jwks, counter } = jwksOn({ keys: [ec.jwk] });
    await expect(verifyWith(new TokenKeys(SECRET, jwks), await sign(ec), ['HS256', 'RS256'])).rejects.toMatchObject({
      code: 'ERR_JOSE_ALG_NOT_ALLOWED',
    });
    expect(counter.loads).toBe(0);
  });

  test('alg none is refused', async () => {
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"a"}').toString('base64url')}.`;
    await expect(verifyWith(new TokenKeys(SECRET, jwksOn({ keys: [rsa.jwk] }).keys), none, [...ALL, 'none'])).rejects.toThrow();
  });
});

describe('JWKS fetching (JwksKeys)', () => {
  test('fetched on first use, then kept until refreshMs', async () => {
    const { keys, counter, clock } = jwksOn({ keys: [rsa.jwk] });
    const tokenKeys = new TokenKeys(undefined, keys);
    await verifyWith(tokenKeys, await sign(rsa));
    await verifyWith(tokenKeys, await sign(rsa));
    expect(counter.loads).toBe(1);
    clock.now += 299_999;
    await verifyWith(tokenKeys, await sign(rsa));
    expect(counter.loads).toBe(1);
    clock.now += 1;
    await verifyWith(tokenKeys, await sign(rsa));
    expect(counter.loads).toBe(2);
  });

  test('an unknown kid refetches at once (rotation), but at most once per cooldown', async () => {
    const served = { keys: [rsa.jwk] };
    const { keys, counter, clock } = jwksOn(served);
    const tokenKeys = new TokenKeys(undefined, keys);
    await verifyWith(tokenKeys, await sign(rsa));
    clock.now += 30_000;
    // The provider rotates: rsa-2 is published and used.
    served.keys = [rsa2.jwk];
    await verifyWith(tokenKeys, await sign(rsa2));
    expect(counter.loads).toBe(2);
    // Made-up kids within the cooldown: refused without a fetch.
    for (let i = 0; i < 5; i++) {
      await expect(verifyWith(tokenKeys, await sign(rsa2, { kid: `bogus-${i}` }))).rejects.toMatchObject({
        code: 'ERR_JWKS_NO_MATCHING_KEY',
      });
    }
    expect(counter.loads).toBe(2);
    clock.now += 29_999;
    await expect(verifyWith(tokenKeys, await sign(rsa2, { kid: 'bogus' }))).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(counter.loads).toBe(2);
    clock.now += 1;
    await expect(verifyWith(tokenKeys, await sign(rsa2, { kid: 'bogus' }))).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
    expect(counter.loads).toBe(3);
  });

  test('concurrent unknown kids share one fetch', async () => {
    const { keys, counter, clock } = jwksOn({ keys: [rsa.jwk] });
    await keys.refresh();
    clock.now += 60_000;
    const tokens = await Promise.all(Array.from({ length: 10 }, (_, i) => sign(rsa, { kid: `new-${i}` })));
    await Promise.allSettled(tokens.map((t) => verifyWith(new TokenKeys(undefined, keys), t)));
    expect(counter.loads).toBe(2);
  });

  test('a key that disappears from the set is reported (the verified-token cache is cleared then); an added one is not', async () => {
    const served = { keys: [rsa.jwk, ec.jwk] };
    let removals = 0;
    const { keys, clock } = jwksOn(served, { onKeysRemoved: () => removals++ });
    await keys.refresh();
    served.keys = [rsa.jwk, ec.jwk, rsa2.jwk];
    clock.now += 30_000;
    await keys.refresh();
    expect(removals).toBe(0);
    served.keys = [rsa2.jwk];
    clock.now += 30_000;
    await keys.refresh();
    expect(removals).toBe(1);
    expect(keys.freshUntil).toBe(clock.now + 300_000);
  });

  test('a failed fetch keeps the keys fetched before', async () => {
    let fail = false;
    const clock = { now: 0 };
    const failures: unknown[] = [];
    const keys = new JwksKeys({
      url: 'x',
      refreshMs: 300_000,
      cooldownMs: 30_000,
      now: () => clock.now,
      load: async () => {
        if (fail) throw new Error('down');
        return { keys: [rsa.jwk] };
      },
      onFetchFailed: (err) => failures.push(err),
    });
    const tokenKeys = new TokenKeys(undefined, keys);
    await verifyWith(tokenKeys, await sign(rsa));
    fail = true;
    clock.now += 300_000;
    await verifyWith(tokenKeys, await sign(rsa));
    expect(failures).toHaveLength(1);
  });

  test.each([
    ['not a key set', { nope: [] }],
    ['too many keys', { keys: Array.from({ length: JWKS_LIMITS.maxKeys + 1 }, () => ({ kty: 'RSA' })) }],
  ])('a document that is %s is refused', async (_what, doc) => {
    const failures: unknown[] = [];
    const keys = new JwksKeys({
      url: 'x',
      refreshMs: 1000,
      cooldownMs: 1000,
      load: async () => doc,
      onFetchFailed: (e) => failures.push(e),
    });
    expect(await keys.refresh()).toBe(false);
    expect(failures).toHaveLength(1);
  });
});

describe('loadJwks over HTTP', () => {
  let server: Server;
  let body = '';
  let status = 200;
  let url = '';
  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  test('reads a JWKS', async () => {
    body = JSON.stringify({ keys: [rsa.jwk] });
    status = 200;
    expect(await loadJwks(url)).toEqual({ keys: [rsa.jwk] });
  });

  test('refuses a document over JWKS_LIMITS.maxBytes, and an error status', async () => {
    body = JSON.stringify({ keys: [], pad: 'x'.repeat(JWKS_LIMITS.maxBytes) });
    await expect(loadJwks(url)).rejects.toThrow(`the JWKS is larger than ${JWKS_LIMITS.maxBytes} bytes`);
    status = 500;
    body = '{}';
    await expect(loadJwks(url)).rejects.toThrow('the JWKS URL answered 500');
  });
});
