import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { GatewayMetrics } from './gateway-metrics.js';
import { MetricsTokenGuard } from './metrics-token.guard.js';

/**
 * `GET /metrics`: the Prometheus scrape endpoint of this process, documented in docs/operations.md
 * rather than in the API docs (it is for scrapers, with a token of its own, not for API callers).
 */
@ApiExcludeController()
@Controller()
export class MetricsController {
  constructor(private readonly metrics: GatewayMetrics) {}

  /** This process's metrics in the Prometheus text format 0.0.4. */
  @Get('metrics')
  @UseGuards(MetricsTokenGuard)
  async scrape(@Res({ passthrough: true }) reply: FastifyReply): Promise<string> {
    const text = await this.metrics.exposition();
    void reply.header('Content-Type', this.metrics.contentType).header('Cache-Control', 'no-store');
    return text;
  }
}
