import type { Fetch } from './api.js';
import { fieldsOf, readBoundedJson } from './bounded-json.js';

/** What the console needs of an authorization server, from its metadata (RFC 8414 / OpenID Connect Discovery). */
export interface AuthorizationServer {
  /** Its issuer identifier, exactly as configured (and as its metadata says). */
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  /** Whether it names itself in the redirect (`iss`, RFC 9207): then the callback must carry it. */
  issInResponse: boolean;
}

/** Largest metadata document read: real ones are a few kilobytes. */
export const MAX_METADATA_BYTES = 64 * 1024;

/** Longest URL taken from a peer's document. */
const MAX_URL_CHARS = 2048;

/**
 * Where an issuer's metadata may be, in the order the MCP authorization spec tries them: RFC 8414's
 * `/.well-known/oauth-authorization-server` inserted before the issuer's path, then OpenID Connect
 * Discovery inserted the same way, then (for an issuer with a path) appended after it.
 */
export function metadataUrlsOf(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const at = (p: string): string => `${url.origin}${p}`;
  if (path === '') return [at('/.well-known/oauth-authorization-server'), at('/.well-known/openid-configuration')];
  return [
    at(`/.well-known/oauth-authorization-server${path}`),
    at(`/.well-known/openid-configuration${path}`),
    at(`${path}/.well-known/openid-configuration`),
  ];
}

/** An http(s) URL without credentials or fragment, as a peer's document may name an endpoint; undefined otherwise. */
export function endpointUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > MAX_URL_CHARS) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  const plain = (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && !url.hash;
  return plain ? url.href : undefined;
}

/**
 * The server a metadata document describes, if it is the one asked for (`issuer` equal, RFC 8414
 * §3.3: a document for another issuer is refused), names both endpoints, and does PKCE with S256
 * when it lists its methods at all.
 */
export function authorizationServerOf(issuer: string, document: unknown): AuthorizationServer | undefined {
  const doc = fieldsOf(document);
  if (!doc || doc.issuer !== issuer) return undefined;
  const authorizationEndpoint = endpointUrl(doc.authorization_endpoint);
  const tokenEndpoint = endpointUrl(doc.token_endpoint);
  if (!authorizationEndpoint || !tokenEndpoint) return undefined;
  const methods = doc.code_challenge_methods_supported;
  if (methods !== undefined && !(Array.isArray(methods) && methods.includes('S256'))) return undefined;
  return { issuer, authorizationEndpoint, tokenEndpoint, issInResponse: doc.authorization_response_iss_parameter_supported === true };
}

/**
 * Finds the issuer's endpoints: tries each metadata URL in turn (one that fails, is missing or is not
 * a usable document for this issuer leads to the next) and resolves with the first usable one;
 * undefined when none is.
 */
export async function discoverAuthorizationServer(issuer: string, fetcher: Fetch): Promise<AuthorizationServer | undefined> {
  for (const url of metadataUrlsOf(issuer)) {
    try {
      const res = await fetcher(url, { headers: { Accept: 'application/json' }, credentials: 'omit', redirect: 'error' });
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        continue;
      }
      const server = authorizationServerOf(issuer, await readBoundedJson(res, MAX_METADATA_BYTES));
      if (server) return server;
    } catch {
      // Unreachable, or refused by CORS (a provider that answers only where its metadata is): the next URL.
    }
  }
  return undefined;
}
