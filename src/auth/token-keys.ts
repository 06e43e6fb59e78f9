import { errors, type CryptoKey, type FlattenedJWSInput, type JWSHeaderParameters } from 'jose';
import type { KeyObject } from 'node:crypto';
import type { JwksKeys } from './jwks-keys.js';

/** The HMAC algorithms: the only ones JWT_SECRET is ever used with. */
export const HMAC_ALGORITHMS: ReadonlySet<string> = new Set(['HS256', 'HS384', 'HS512']);

/**
 * Which key checks a token, by the family of its header's `alg` (already one of JWT_ALGORITHMS:
 * jose refuses any other before asking for a key): HS* gets the HMAC secret and nothing else; any
 * other `alg` gets a JWKS key, never the secret. So a token "signed" with the provider's public key
 * as an HMAC secret is checked against JWT_SECRET and fails, and a JWKS can hand out no secret
 * (jose's key set takes public keys only, of a type that fits the `alg`).
 */
export class TokenKeys {
  constructor(
    private readonly secret: KeyObject | undefined,
    private readonly jwks: JwksKeys | undefined,
  ) {}

  /** Whether this `alg` is checked with the HMAC secret. */
  static isHmac(alg: unknown): boolean {
    return typeof alg === 'string' && HMAC_ALGORITHMS.has(alg);
  }

  /** jose's key resolver for jwtVerify. */
  readonly keyFor = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<KeyObject | CryptoKey> => {
    if (TokenKeys.isHmac(header.alg)) {
      if (this.secret) return this.secret;
    } else if (this.jwks) {
      return this.jwks.getKey(header, token);
    }
    throw new errors.JOSENotSupported('no key for this algorithm');
  };
}
