import { Injectable } from '@nestjs/common';
import type { Principal, Role } from '../../auth/principal.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../../protocol/json-rpc.js';
import { sessionRole } from '../../reverse-proxy/tunnel/session-access.js';
import { SessionRegistry } from '../../reverse-proxy/tunnel/session-registry.js';
import type { SessionHandle, TunnelHandle } from '../../reverse-proxy/tunnel/tunnel-handle.js';
import type { ServerCatalogEntryDto } from './dto/server-catalog.dto.js';

/**
 * Which servers a caller can reach, with what the gateway knows about each. Tool counts are
 * learnt from complete `tools/list` answers passing through and forgotten on `list_changed`.
 */
@Injectable()
export class ServerCatalog {
  private readonly toolCounts = new WeakMap<SessionHandle, number>();

  constructor(private readonly registry: SessionRegistry) {}

  /** Registered (ready) servers the caller may use (its own, shared with it, anonymous; all for admins), by name, with its role on each. */
  entries(principal: Principal, baseUrl: string): ServerCatalogEntryDto[] {
    const entries: ServerCatalogEntryDto[] = [];
    for (const tunnel of this.registry.list()) {
      const role = tunnel.isReady() ? sessionRole(tunnel, principal) : undefined;
      if (role) entries.push(this.entry(tunnel as TunnelHandle, role, baseUrl));
    }
    return entries.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Learns the tool count from an unpaginated `tools/list` answer. */
  observe(tunnel: SessionHandle, request: JsonRpcRequest, answer: JsonRpcResponse): void {
    if (request.method !== 'tools/list' || !('result' in answer)) return;
    const params = request.params as Record<string, unknown> | undefined;
    const result = answer.result as Record<string, unknown> | null;
    if (params?.cursor !== undefined || !result || !Array.isArray(result.tools) || result.nextCursor !== undefined) return;
    this.toolCounts.set(tunnel, result.tools.length);
  }

  forgetTools(tunnel: SessionHandle): void {
    this.toolCounts.delete(tunnel);
  }

  private entry(tunnel: TunnelHandle, role: Role, baseUrl: string): ServerCatalogEntryDto {
    const server = tunnel.server;
    const info = server.serverInfo ?? {};
    const path = `${baseUrl}/servers/${encodeURIComponent(server.name)}`;
    const title = server.title ?? (typeof info.title === 'string' ? info.title : undefined);
    const version = typeof info.version === 'string' ? info.version : server.version;
    return {
      name: server.name,
      ...(title ? { title } : {}),
      ...(server.description ? { description: server.description } : {}),
      ...(version ? { version } : {}),
      ...(this.toolCounts.has(tunnel) ? { tools_count: this.toolCounts.get(tunnel) } : {}),
      owner: tunnel.owner,
      role,
      connected_since: tunnel.connectedAt.toISOString(),
      ...(server.protocolVersion ? { protocol_version: server.protocolVersion } : {}),
      url: `${path}/mcp`,
      sse_url: `${path}/sse`,
    };
  }
}
