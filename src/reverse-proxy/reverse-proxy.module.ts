import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { InMemorySessionRegistry } from './tunnel/in-memory-session-registry.js';
import { OwnershipGuard } from './admin/ownership.guard.js';
import { SessionRegistry } from './tunnel/session-registry.js';
import { SessionsController } from './admin/sessions.controller.js';
import { TunnelAdmission } from './tunnel/tunnel-admission.js';
import { TunnelProtocolService } from './tunnel/tunnel-protocol.service.js';
import { TunnelGateway } from './tunnel/tunnel.gateway.js';

/** The tunnel endpoint, the session registry and the admin API over it. */
@Module({
  imports: [AuthModule],
  controllers: [SessionsController],
  providers: [
    { provide: SessionRegistry, useClass: InMemorySessionRegistry },
    TunnelAdmission,
    TunnelProtocolService,
    TunnelGateway,
    OwnershipGuard,
  ],
  exports: [SessionRegistry, TunnelAdmission],
})
export class ReverseProxyModule {}
