import { Global, Module } from '@nestjs/common';
import { GatewayMetrics } from './gateway-metrics.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsTokenGuard } from './metrics-token.guard.js';

/**
 * The gateway's Prometheus metrics: one `GatewayMetrics` per app, which the tunnel endpoint, the
 * doors and the probes tell what happens, and `GET /metrics`. Global, so every layer above gets it.
 */
@Global()
@Module({
  controllers: [MetricsController],
  // A factory: the constructor's only parameter is the clock, which Nest must not try to inject.
  providers: [{ provide: GatewayMetrics, useFactory: () => new GatewayMetrics() }, MetricsTokenGuard],
  exports: [GatewayMetrics],
})
export class MetricsModule {}
