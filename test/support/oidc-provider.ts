/**
 * A real OpenID provider for the tests: `oidc-provider` (the certified Node.js implementation) on a
 * free loopback port, issuing JWT access tokens for resources (RFC 8707 resource indicators) to a
 * client_credentials client, and able to rotate its signing keys while it runs. Optionally also to a
 * browser's public client (authorization code with PKCE), through its development login and consent
 * pages.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The part of oidc-provider's API used here (the package ships no type declarations). */
interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
}
type OidcProviderClass = new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;

/** A client the provider knows: id, secret, and the scopes it may ask for. */
export interface OidcClient {
  clientId: string;
  clientSecret: string;
  scope: string;
}

/** A browser client: public (no secret), authorization code with PKCE, one redirect URI. */
export interface OidcPublicClient {
  clientId: string;
  /** Where the provider sends the browser back; its origin is the one CORS lets call the token endpoint. */
  redirectUri: string;
}

/** What the provider offers besides the client_credentials client. */
export interface OidcProviderOptions {
  /**
   * Registers this public client too, and turns on the provider's development pages: a login form
   * that takes any login (the token's `sub`) and any password, then a consent page.
   */
  publicClient?: OidcPublicClient;
}

export interface RunningOidcProvider {
  /** http://127.0.0.1:<port>: the issuer, and the URL of its discovery documents. */
  issuer: string;
  /** Where it publishes its signing keys. */
  jwksUri: string;
  client: OidcClient;
  /** The public client, when one was asked for. */
  publicClient?: OidcPublicClient;
  /** The key id new tokens are signed with. */
  readonly currentKid: string;
  /**
   * Key rotation as a provider does it: a new key signs from now on, the previous one stays
   * published (tokens it signed remain verifiable), older ones are dropped.
   */
  rotateKeys(): void;
  close(): Promise<void>;
}

/** An RS256 signing key as a private JWK. */
function signingKey(): Record<string, unknown> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

/** Starts the provider with one client_credentials client (and `options`); a token's `aud` is the resource it was asked for. */
export async function startOidcProvider(
  client: OidcClient = { clientId: 'mcp-test-client', clientSecret: 'mcp-test-client-secret-0123456789', scope: 'mcp' },
  options: OidcProviderOptions = {},
): Promise<RunningOidcProvider> {
  const { publicClient } = options;
  // A variable specifier: TypeScript would otherwise look for declarations the package does not ship.
  const specifier = 'oidc-provider';
  const { default: Provider } = (await import(specifier)) as { default: OidcProviderClass };

  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server: Server = createServer((req, res) => handler(req, res));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let keys = [signingKey()];
  const build = () => {
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: client.clientId,
          client_secret: client.clientSecret,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          scope: client.scope,
        },
        ...(publicClient
          ? [
              {
                client_id: publicClient.clientId,
                token_endpoint_auth_method: 'none',
                grant_types: ['authorization_code'],
                response_types: ['code'],
                redirect_uris: [publicClient.redirectUri],
                scope: client.scope,
              },
            ]
          : []),
      ],
      // A browser reads the token endpoint only from the public client's own origin.
      clientBasedCORS: (_ctx: unknown, origin: string, c: { clientId: string }) =>
        publicClient !== undefined && c.clientId === publicClient.clientId && origin === new URL(publicClient.redirectUri).origin,
      pkce: { required: () => true },
      jwks: { keys },
      scopes: client.scope.split(' '),
      features: {
        devInteractions: { enabled: publicClient !== undefined },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          // Any http(s) resource: the tests ask for the gateway's, and for another service's.
          getResourceServerInfo: (_ctx: unknown, resourceIndicator: string) => ({
            scope: client.scope,
            audience: resourceIndicator,
            accessTokenTTL: 600,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          }),
        },
      },
      ttl: {
        ClientCredentials: 600,
        ...(publicClient ? { AccessToken: 600, AuthorizationCode: 60, Grant: 600, Interaction: 600, Session: 600 } : {}),
      },
      // The login page's account: whoever logs in is the login they typed (the token's `sub`).
      ...(publicClient ? { findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }) } : {}),
      // Signs the login pages' cookies (client_credentials sets none); also silences the warning about default keys.
      cookies: { keys: [randomUUID()] },
    });
    handler = provider.callback();
  };
  build();

  return {
    issuer,
    jwksUri: `${issuer}/jwks`,
    client,
    ...(publicClient ? { publicClient } : {}),
    get currentKid() {
      return keys[0].kid as string;
    },
    rotateKeys() {
      keys = [signingKey(), keys[0]];
      build();
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
