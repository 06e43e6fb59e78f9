import { type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module.js';
import { useDepthLimitedJsonBodies } from './common/json-body-parser.js';
import { requestIdFor } from './common/request-log.js';
import type { AppConfig } from './config/app-config.js';
import { configureApp } from './configure-app.js';

/**
 * Builds the gateway on the Fastify adapter and applies configureApp: main.ts and the e2e tests
 * start it the same way. Fastify rather than Express because the framework's own cost per request
 * is several times lower (docs/benchmarks.md).
 */
export async function createApp(config: AppConfig, logger: LoggerService | false): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.requests.maxBodyBytes,
    genReqId: requestIdFor,
    requestIdHeader: false,
    // Open SSE streams and MCP sessions must not hold a shutdown open.
    forceCloseConnections: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, { logger });
  useDepthLimitedJsonBodies(app, config.limits.maxJsonDepth);
  configureApp(app, config);
  return app;
}
