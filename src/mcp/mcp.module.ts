import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { ReverseProxyModule } from '../reverse-proxy/reverse-proxy.module.js';
import { CatalogController } from './catalog.controller.js';
import { HostGuard } from './host.guard.js';
import { LegacySseController } from './legacy-sse.controller.js';
import { McpServerRequestRouter } from './mcp-server-request-router.js';
import { McpSessionBridge } from './mcp-session-bridge.service.js';
import { McpSessionOpener } from './mcp-session-opener.service.js';
import { McpSessionStore } from './mcp-session-store.service.js';
import { OriginGuard } from './origin.guard.js';
import { ResourceSubscriptions } from './resource-subscriptions.service.js';
import { ServerCatalog } from './server-catalog.service.js';
import { StatelessMcpDoor } from './stateless-mcp.service.js';
import { StreamableHttpController } from './streamable-http.controller.js';
import { TunnelEventFanout } from './tunnel-event-fanout.service.js';
import { TunnelRelay } from './tunnel-relay.service.js';

/** Every registered tunnel as a remote MCP server: Streamable HTTP, legacy SSE, and the catalog. */
@Module({
  imports: [AuthModule, ReverseProxyModule],
  controllers: [StreamableHttpController, LegacySseController, CatalogController],
  providers: [
    McpSessionStore,
    McpSessionOpener,
    McpSessionBridge,
    McpServerRequestRouter,
    TunnelRelay,
    ResourceSubscriptions,
    TunnelEventFanout,
    ServerCatalog,
    HostGuard,
    OriginGuard,
    StatelessMcpDoor,
  ],
})
export class McpModule {}
