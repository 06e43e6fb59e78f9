import type { Fetch } from './api.js';
import { fieldsOf, readBoundedJson } from './bounded-json.js';
import { endpointUrl } from './oauth-discovery.js';

/** What the sign-in page offers besides the token field: signing in at the gateway's identity provider. */
export interface OAuthOffer {
  /** The console's public client there (CONSOLE_OAUTH_CLIENT_ID). */
  clientId: string;
  /** The authorization server: the first the gateway's metadata names. */
  issuer: string;
  /** What the button says: the issuer's host. */
  label: string;
  /** The gateway as a resource (PUBLIC_URL): the token is asked for it (RFC 8707). */
  resource: string;
  /** The scopes the gateway's metadata lists; asked for as they are. */
  scopes: string[];
  /** Where the provider sends the browser back: `<PUBLIC_URL>/console/`, as registered there. */
  redirectUri: string;
  /** Whether this page is at that address: the flow's state lives in this origin's session storage, so only then can it finish here. */
  here: boolean;
}

/** The page's settings: `config.json` next to it. */
export const CONSOLE_CONFIG_URL = 'config.json';

/** The gateway's own protected resource metadata (RFC 9728). */
export const RESOURCE_METADATA_URL = '/.well-known/oauth-protected-resource';

/** Largest settings or metadata document read. */
const MAX_DOCUMENT_BYTES = 64 * 1024;

/** Limits on what is taken from those documents. */
const LIMITS = { clientIdChars: 255, scopes: 32, scopeChars: 128 };

/** An RFC 6749 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/**
 * The offer that the page's settings (`{ oauthClientId }`) and the gateway's resource metadata
 * make, on a page at `pageOrigin`; undefined when either says there is none or is not well formed.
 */
export function offerOf(settings: unknown, metadata: unknown, pageOrigin: string): OAuthOffer | undefined {
  const clientId = fieldsOf(settings)?.oauthClientId;
  const doc = fieldsOf(metadata);
  if (typeof clientId !== 'string' || !/^[\x21-\x7e]+$/.test(clientId) || clientId.length > LIMITS.clientIdChars || !doc) return undefined;
  const resource = endpointUrl(doc.resource);
  const issuer: unknown = Array.isArray(doc.authorization_servers) ? (doc.authorization_servers as unknown[])[0] : undefined;
  if (resource === undefined || typeof issuer !== 'string' || endpointUrl(issuer) === undefined) return undefined;
  const listed: unknown[] = Array.isArray(doc.scopes_supported) ? (doc.scopes_supported as unknown[]) : [];
  const scopes = listed
    .slice(0, LIMITS.scopes)
    .filter((s): s is string => typeof s === 'string' && s.length <= LIMITS.scopeChars && SCOPE_TOKEN.test(s));
  const origin = new URL(resource).origin;
  return {
    clientId,
    issuer,
    label: new URL(issuer).host,
    // The metadata's resource, not URL.href: PUBLIC_URL has no path, and `href` would add a slash the token's audience lacks.
    resource: doc.resource as string,
    scopes,
    redirectUri: `${origin}/console/`,
    here: origin === pageOrigin,
  };
}

/** Reads a same-origin JSON document; undefined when it is missing or unusable. */
async function document(fetcher: Fetch, url: string): Promise<unknown> {
  try {
    const res = await fetcher(url, { headers: { Accept: 'application/json' } });
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      return undefined;
    }
    return await readBoundedJson(res, MAX_DOCUMENT_BYTES);
  } catch {
    return undefined;
  }
}

/** What the gateway offers: its console settings, then (only when they name a client) its resource metadata. */
export async function loadOAuthOffer(fetcher: Fetch, pageOrigin: string): Promise<OAuthOffer | undefined> {
  const settings = await document(fetcher, CONSOLE_CONFIG_URL);
  if (typeof fieldsOf(settings)?.oauthClientId !== 'string') return undefined;
  return offerOf(settings, await document(fetcher, RESOURCE_METADATA_URL), pageOrigin);
}
