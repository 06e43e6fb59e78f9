import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { ProtectedResourceModule } from './auth/oauth/protected-resource.module.js';
import { HttpExceptionFilter } from './common/http-exception.filter.js';
import { HealthModule } from './health/health.module.js';
import { DrainService } from './lifecycle/drain.service.js';
import { LifecycleModule } from './lifecycle/lifecycle.module.js';
import { McpModule } from './mcp/mcp.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { ReverseProxyModule } from './reverse-proxy/reverse-proxy.module.js';

/** The gateway, built from one validated configuration. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ProtectedResourceModule,
        MetricsModule,
        LifecycleModule,
        ReverseProxyModule,
        McpModule,
        HealthModule,
      ],
      // DrainService here, in the root module: its onModuleDestroy must run before the other modules' (see its comment).
      providers: [{ provide: APP_FILTER, useClass: HttpExceptionFilter }, DrainService],
    };
  }
}
