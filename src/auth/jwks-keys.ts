import {
  createLocalJWKSet,
  errors,
  type CryptoKey,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
  type LocalJWKSet,
} from 'jose';
import { isObject } from '../protocol/json-rpc.js';

/** What a JWKS fetch may cost: the identity provider's answer is read as hostile input too. */
export const JWKS_LIMITS = {
  /** Bytes of the JWKS document. */
  maxBytes: 256 * 1024,
  /** Keys in it. */
  maxKeys: 64,
  /** Time for the whole fetch, body included. */
  fetchTimeoutMs: 5000,
} as const;

/** The settings and seams of a JwksKeys. */
export interface JwksKeysOptions {
  /** JWT_JWKS_URL. */
  url: string;
  /** A fetched key set is used this long, then fetched again. */
  refreshMs: number;
  /** Shortest time between two fetches (an unknown `kid` asks for one). */
  cooldownMs: number;
  /** The clock (ms since the epoch). */
  now?: () => number;
  /** Fetches and parses the JWKS document; default: an HTTP GET within JWKS_LIMITS. */
  load?: (url: string) => Promise<unknown>;
  /** Called after a fetch in which a key the gateway was using disappeared (rotated away). */
  onKeysRemoved?: () => void;
  /** Called when a fetch fails; the key set fetched before stays in use. */
  onFetchFailed?: (err: unknown) => void;
}

/** No key set could be fetched yet: no token can be checked, whatever it is. */
export class JwksUnavailableError extends Error {
  constructor() {
    super('no key set fetched');
    this.name = 'JwksUnavailableError';
  }
}

/**
 * The identity provider's public keys (JWT_JWKS_URL), as a key resolver for jose's jwtVerify. The
 * set is fetched on first use and again once it is `refreshMs` old; a token whose `kid` is in no key
 * fetches it again at once (key rotation), but fetches are at least `cooldownMs` apart, so tokens
 * with made-up `kid`s cannot make the gateway hammer the provider. Concurrent callers share one
 * fetch. Which key fits a token is jose's choice (createLocalJWKSet): the `kid`, a key type and
 * curve that fit the `alg`, `use`/`key_ops`, and public keys only, never an HMAC secret.
 */
export class JwksKeys {
  private keys: LocalJWKSet | undefined;
  private keyIds = new Set<string>();
  private fetchedAt = -Infinity;
  private attemptedAt = -Infinity;
  private inFlight: Promise<boolean> | undefined;
  private readonly now: () => number;
  private readonly load: (url: string) => Promise<unknown>;

  constructor(private readonly options: JwksKeysOptions) {
    this.now = options.now ?? Date.now;
    this.load = options.load ?? loadJwks;
  }

  /** Until when the key set in use counts as current: a verification cached with it must not outlive this. */
  get freshUntil(): number {
    return this.fetchedAt + this.options.refreshMs;
  }

  /** jose's key resolver: the one key of the set that fits the token's header; refetches once for an unknown `kid`. */
  readonly getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    if (this.keys === undefined || this.now() >= this.freshUntil) await this.refresh();
    if (this.keys === undefined) throw new JwksUnavailableError();
    try {
      return await this.keys(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey) || !(await this.refresh())) throw err;
      return this.keys(header, token);
    }
  };

  /** Fetches the set again unless the last attempt is within the cooldown; resolves whether a new set was taken. */
  refresh(): Promise<boolean> {
    if (this.inFlight) return this.inFlight;
    const now = this.now();
    if (now - this.attemptedAt < this.options.cooldownMs) return Promise.resolve(false);
    this.attemptedAt = now;
    this.inFlight = this.fetchSet().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async fetchSet(): Promise<boolean> {
    let set: JSONWebKeySet;
    let keys: LocalJWKSet;
    try {
      set = checkedSet(await this.load(this.options.url));
      keys = createLocalJWKSet(set);
    } catch (err) {
      this.options.onFetchFailed?.(err);
      return false;
    }
    const ids = new Set(set.keys.map(keyId));
    const removed = [...this.keyIds].some((id) => !ids.has(id));
    this.keys = keys;
    this.keyIds = ids;
    this.fetchedAt = this.now();
    if (removed) this.options.onKeysRemoved?.();
    return true;
  }
}

/** A key's identity across fetches: its `kid`, else the whole JWK. */
function keyId(jwk: object): string {
  const kid = (jwk as { kid?: unknown }).kid;
  return typeof kid === 'string' ? `kid:${kid}` : `jwk:${JSON.stringify(jwk)}`;
}

/** The document as a JWKS within JWKS_LIMITS, or throws. */
function checkedSet(doc: unknown): JSONWebKeySet {
  if (!isObject(doc) || !Array.isArray(doc.keys)) throw new Error('the JWKS has no "keys" array');
  if (doc.keys.length > JWKS_LIMITS.maxKeys) throw new Error(`the JWKS has more than ${JWKS_LIMITS.maxKeys} keys`);
  return doc as unknown as JSONWebKeySet;
}

/** GETs the JWKS within JWKS_LIMITS (time and bytes) and parses it. */
export async function loadJwks(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(JWKS_LIMITS.fetchTimeoutMs), headers: { accept: 'application/json' } });
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new Error(`the JWKS URL answered ${res.status}`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    // Leaving the loop by a throw cancels the body.
    if (size > JWKS_LIMITS.maxBytes) throw new Error(`the JWKS is larger than ${JWKS_LIMITS.maxBytes} bytes`);
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}
