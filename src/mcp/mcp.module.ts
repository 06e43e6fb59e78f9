import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { ReverseProxyModule } from '../reverse-proxy/reverse-proxy.module.js';
import { DirectAnswers } from './direct-answers.service.js';
import { CatalogController } from './catalog/catalog.controller.js';
import { HostGuard } from './http/host.guard.js';
import { LegacySseController } from './legacy-sse.controller.js';
import { McpServerRequestRouter } from './sessions/mcp-server-request-router.js';
import { McpSessionBridge } from './sessions/mcp-session-bridge.service.js';
import { McpSessionOpener } from './sessions/mcp-session-opener.service.js';
import { McpSessionStore } from './sessions/mcp-session-store.service.js';
import { OriginGuard } from './http/origin.guard.js';
import { ResourceSubscriptions } from './sessions/resource-subscriptions.service.js';
import { ServerCatalog } from './catalog/server-catalog.service.js';
import { StreamableHttpDoor } from './streamable-http-door.service.js';
import { SharedSessionState } from './sessions/shared-session-state.service.js';
import { StatelessMcpDoor } from './stateless/stateless-mcp-door.service.js';
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
    StreamableHttpDoor,
    DirectAnswers,
    SharedSessionState,
  ],
})
export class McpModule {}
