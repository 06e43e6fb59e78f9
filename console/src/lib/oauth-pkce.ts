/** The part of Web Crypto the sign-in uses: the page's `crypto`, Node's in the tests. */
export interface WebCrypto {
  getRandomValues(array: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer>;
  subtle: { digest(algorithm: 'SHA-256', data: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer> };
}

/** A PKCE code verifier and its S256 challenge (RFC 7636). */
export interface PkcePair {
  verifier: string;
  challenge: string;
}

/** Random bytes in a verifier or a state: 32, i.e. 256 bits, 43 characters once encoded (RFC 7636's minimum length). */
const RANDOM_BYTES = 32;

/** Bytes as base64url without padding (RFC 4648 §5). */
export function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** An unguessable value (a `state`, a verifier): 256 random bits, base64url. */
export function randomToken(crypto: WebCrypto): string {
  return base64url(crypto.getRandomValues(new Uint8Array(RANDOM_BYTES)));
}

/** The S256 challenge of a verifier: base64url(SHA-256(ASCII(verifier))). */
export async function challengeOf(verifier: string, crypto: WebCrypto): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}

/** A fresh verifier and its challenge. */
export async function createPkcePair(crypto: WebCrypto): Promise<PkcePair> {
  const verifier = randomToken(crypto);
  return { verifier, challenge: await challengeOf(verifier, crypto) };
}
