import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { registerRequestLog } from './common/request-log.js';
import { GatewayValidationPipe } from './common/validation.pipe.js';
import type { AppConfig } from './config/app-config.js';
import { TunnelConnectionGuard } from './reverse-proxy/tunnel-connection.guard.js';
import { TunnelWsAdapter } from './reverse-proxy/tunnel-ws.adapter.js';

/** Everything main.ts sets up on the app, shared with the e2e tests (through createApp) so they run the real thing. */
export function configureApp(app: NestFastifyApplication, config: AppConfig): void {
  registerRequestLog(app.getHttpAdapter().getInstance(), config.logLevel === 'debug');
  app.useWebSocketAdapter(new TunnelWsAdapter(app, app.get(TunnelConnectionGuard), config.tunnel.maxFrameBytes));
  app.useGlobalPipes(
    new GatewayValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: true }),
  );
  app.enableShutdownHooks();

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('MCP tunnel gateway')
      .setDescription(
        'Admin API of the MCP reverse-proxy gateway: tunnel sessions, request/response routing and event streams.',
      )
      .setVersion('0.1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
