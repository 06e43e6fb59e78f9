import type { OAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/shared/auth.js';
import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig, OAuthResourceConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { PACKAGE_INFO } from '../../config/package-info.js';
import { SERVER_INFO_LIMITS, SERVER_NAME_PATTERN } from '../../protocol/envelopes.js';
import type { ChallengeHints } from '../www-authenticate.js';

/** Where RFC 9728 puts the metadata: this prefix, then the resource's path (none for the gateway itself). */
export const PROTECTED_RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';

/** The MCP doors of one server, by the last segment of their path: each names the resource its client asked for. */
const DOOR_RESOURCE = { mcp: 'mcp', sse: 'sse', messages: 'sse' } as const;

/** `/servers/<name>/<door>`, optionally with a trailing slash (the query is cut off before). */
const DOOR_PATH = /^\/servers\/([^/]+)\/(mcp|sse|messages)\/?$/;

/** The door a resource path is an MCP endpoint of: Streamable HTTP (`mcp`) or legacy SSE (`sse`). */
export type McpDoor = 'mcp' | 'sse';

/** Whether `name` is a name a tunnel could register (the same rule as `register.server.name`). */
export function isServerName(name: string): boolean {
  return name.length <= SERVER_INFO_LIMITS.name && SERVER_NAME_PATTERN.test(name);
}

/**
 * The gateway as an OAuth 2.0 protected resource (RFC 9728, the MCP authorization spec): the
 * metadata documents it publishes, and what a 401 says about them. The gateway as a whole is the
 * resource `PUBLIC_URL`; each MCP endpoint is also one, `<PUBLIC_URL>/servers/<name>/mcp` (or
 * `/sse`), because MCP clients ask for a token for the URL they connect to (RFC 8707). Everything
 * here comes from the configuration, never from the request's `Host`.
 */
@Injectable()
export class ProtectedResource {
  private readonly settings: (OAuthResourceConfig & { publicUrl: string }) | undefined;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    // loadConfig refuses OAUTH_AUTHORIZATION_SERVERS without PUBLIC_URL.
    this.settings = config.oauth && config.publicUrl ? { ...config.oauth, publicUrl: config.publicUrl } : undefined;
  }

  /** Whether metadata is published (OAUTH_AUTHORIZATION_SERVERS set). */
  get enabled(): boolean {
    return this.settings !== undefined;
  }

  /**
   * The metadata document of the gateway (no `door`) or of one server's MCP endpoint; undefined
   * while none is published or for a name no tunnel could register. Any valid name gets a document,
   * registered or not: the metadata describes a URL, and must not tell strangers which names exist.
   */
  metadata(door?: { name: string; door: McpDoor }): OAuthProtectedResourceMetadata | undefined {
    const s = this.settings;
    if (!s || (door && !isServerName(door.name))) return undefined;
    return {
      resource: door ? `${s.publicUrl}/servers/${door.name}/${door.door}` : s.publicUrl,
      authorization_servers: s.authorizationServers,
      ...(s.scopes.length > 0 ? { scopes_supported: s.scopes } : {}),
      // The MCP authorization spec: tokens go in the Authorization header, never the query.
      bearer_methods_supported: ['header'],
      resource_name: door ? `${door.name} (${PACKAGE_INFO.name})` : PACKAGE_INFO.name,
      ...(s.resourceDocumentation ? { resource_documentation: s.resourceDocumentation } : {}),
    };
  }

  /**
   * What the 401 of a request to `url` (path and query, as received) adds to its challenge: the
   * metadata URL of the MCP endpoint it was for, else the gateway's, and the scopes. Nothing while
   * no metadata is published.
   */
  challengeHints(url: string | undefined): ChallengeHints {
    const s = this.settings;
    if (!s) return {};
    const door = this.doorOf(url);
    const resourcePath = door ? `/servers/${door.name}/${door.door}` : '';
    return {
      resource_metadata: `${s.publicUrl}${PROTECTED_RESOURCE_METADATA_PATH}${resourcePath}`,
      ...(s.scopes.length > 0 ? { scope: s.scopes.join(' ') } : {}),
    };
  }

  /** The MCP endpoint a request path is one of, if its name is valid. */
  private doorOf(url: string | undefined): { name: string; door: McpDoor } | undefined {
    const path = (url ?? '').split(/[?#]/, 1)[0] ?? '';
    const match = DOOR_PATH.exec(path);
    if (!match || !isServerName(match[1])) return undefined;
    return { name: match[1], door: DOOR_RESOURCE[match[2] as keyof typeof DOOR_RESOURCE] };
  }
}
