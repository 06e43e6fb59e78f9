import { Controller, Get, type OnModuleInit, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService, type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { ErrorResponseDto } from '../auth/error-response.dto.js';
import { SHUTTING_DOWN, ShutdownState } from '../lifecycle/shutdown-state.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { SessionRegistry } from '../reverse-proxy/tunnel/session-registry.js';

/** Liveness and readiness probes for the orchestrator; no auth. */
@ApiTags('health')
@Controller()
export class HealthController implements OnModuleInit {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly registry: SessionRegistry,
    private readonly shutdown: ShutdownState,
    private readonly metrics: GatewayMetrics,
  ) {}

  onModuleInit(): void {
    // mcp_gateway_ready: what /ready would answer, read at each scrape.
    this.metrics.watchReadiness(() => !this.shutdown.draining && this.registry.status().ready);
  }

  /** Liveness: the process answers. */
  @Get('health')
  @ApiOperation({ summary: 'Liveness probe' })
  @ApiOkResponse({ description: '{"status":"ok"}' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: the session registry is usable and the gateway is not draining, so tunnels and calls can be accepted. */
  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness probe' })
  @ApiOkResponse({ description: '{"status":"ok","info":{"registry":{"status":"up","sessions":N}},...}' })
  @ApiServiceUnavailableResponse({ description: 'Not ready, or shutting down', type: ErrorResponseDto })
  ready() {
    // Said in the error body (the error filter would drop a health indicator's details).
    if (this.shutdown.draining) throw new ServiceUnavailableException(SHUTTING_DOWN);
    return this.health.check([() => this.registryIndicator()]);
  }

  private registryIndicator(): HealthIndicatorResult {
    const check = this.indicator.check('registry');
    const { ready, sessions, detail } = this.registry.status();
    if (!ready) throw new ServiceUnavailableException(detail ?? 'The session registry is not ready');
    return check.up({ sessions, ...(detail ? { detail } : {}) });
  }
}
