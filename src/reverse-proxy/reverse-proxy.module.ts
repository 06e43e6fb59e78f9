import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { HostAllowList } from '../config/allowed-hosts.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { CLUSTER, createCluster, createSessionRegistry, exchangeRelayOf } from './cluster/create-session-registry.js';
import { ExchangeRelay } from './cluster/exchange-relay.js';
import { OwnershipGuard } from './admin/ownership.guard.js';
import { SessionRegistry } from './tunnel/session-registry.js';
import { SessionStatsReader } from './admin/session-stats-reader.js';
import { SessionsController } from './admin/sessions.controller.js';
import { ResumeTokens } from './tunnel/resume-tokens.js';
import { TunnelAdmission } from './tunnel/tunnel-admission.js';
import { TunnelProtocolService } from './tunnel/tunnel-protocol.service.js';
import { TunnelGateway } from './tunnel/tunnel.gateway.js';

/** The tunnel endpoint, the session registry (in memory, or cluster mode's) and the admin API over it. */
@Module({
  imports: [AuthModule],
  controllers: [SessionsController],
  providers: [
    // Cluster mode's parts when REDIS_URL is set, else null; the registry is in memory or Redis-backed accordingly.
    { provide: CLUSTER, useFactory: createCluster, inject: [APP_CONFIG] },
    { provide: SessionRegistry, useFactory: createSessionRegistry, inject: [APP_CONFIG, CLUSTER] },
    { provide: ExchangeRelay, useFactory: exchangeRelayOf, inject: [CLUSTER] },
    TunnelAdmission,
    // One table of resume tokens for the tunnel endpoint (its randomness is the default, crypto's).
    {
      provide: ResumeTokens,
      useFactory: (config: AppConfig) => new ResumeTokens(undefined, config.cluster?.replicaId),
      inject: [APP_CONFIG],
    },
    TunnelProtocolService,
    TunnelGateway,
    OwnershipGuard,
    SessionStatsReader,
    // Which Host names the gateway: the tunnel endpoint and the MCP doors share the one instance.
    HostAllowList,
  ],
  exports: [SessionRegistry, TunnelAdmission, ExchangeRelay, CLUSTER, HostAllowList],
})
export class ReverseProxyModule {}
