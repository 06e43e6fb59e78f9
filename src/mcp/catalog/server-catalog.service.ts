import { Injectable } from '@nestjs/common';
import { canAccess, type Principal } from '../../auth/principal.js';
import type { JsonRpcRequest, JsonRpcResponse } from '../../protocol/json-rpc.js';
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

  /** Registered (ready) servers the caller may reach, by name. */
  entries(principal: Principal, baseUrl: string): ServerCatalogEntryDto[] {
    return this.registry
      .list()
      .filter((t): t is TunnelHandle => t.isReady() && canAccess(principal, t.owner))
      .map((t) => this.entry(t, baseUrl))
      .sort((a, b) => a.name.localeCompare(b.name));
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

  private entry(tunnel: TunnelHandle, baseUrl: string): ServerCatalogEntryDto {
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
      connected_since: tunnel.connectedAt.toISOString(),
      ...(server.protocolVersion ? { protocol_version: server.protocolVersion } : {}),
      url: `${path}/mcp`,
      sse_url: `${path}/sse`,
    };
  }
}
