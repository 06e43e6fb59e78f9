import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AuthService } from './auth/auth.service.js';
import { ProtectedResource } from './auth/oauth/protected-resource.js';
import { registerAuthHook } from './common/auth-hook.js';
import { warnIfOpenWithoutAuth } from './common/exposure-warning.js';
import { consoleOptionsOf, serveConsole } from './console/serve-console.js';
import { applyHttpLimits } from './common/http-limits.js';
import { registerRequestLog } from './common/request-log.js';
import { logUnhandledRxjsErrors } from './common/rxjs-backstop.js';
import type { AppConfig } from './config/app-config.js';
import { PACKAGE_INFO } from './config/package-info.js';
import { refuseWhileDraining } from './lifecycle/refuse-while-draining.js';
import { ShutdownState } from './lifecycle/shutdown-state.js';
import { TunnelAdmission } from './reverse-proxy/tunnel/tunnel-admission.js';
import { TunnelWsAdapter } from './reverse-proxy/tunnel/tunnel-ws.adapter.js';

/** The API docs' introduction: what the API is, and how to get the token every route but the probes needs. */
const API_DESCRIPTION = [
  'Admin API of the MCP reverse-proxy gateway: tunnel sessions, request/response routing and event streams, plus the MCP endpoints.',
  '',
  "**Getting a token.** Every route but `/health` and `/ready` needs a bearer token signed with the gateway's `JWT_SECRET`. " +
    "From the gateway's directory (same `JWT_SECRET`, in the environment or `.env`): `npm run token -- --sub you@example.com` " +
    '(`--admin` for a token that sees every session, `--exp 8h` for a longer one). Press **Authorize**, paste the token; it is kept across page reloads.',
  '',
  'Errors answer `{statusCode, error, message, detail}` (`ErrorResponseDto`); the MCP endpoints answer JSON-RPC errors instead, except their 401.',
].join('\n');

/** Everything main.ts sets up on the app, shared with the e2e tests (through createApp) so they run the real thing. */
export function configureApp(app: NestFastifyApplication, config: AppConfig): void {
  logUnhandledRxjsErrors();
  registerRequestLog(app.getHttpAdapter().getInstance(), config.logLevel === 'debug');
  const shutdown = app.get(ShutdownState);
  // After the request log's hook, so refusals carry X-Request-ID too; a draining gateway refuses before it verifies.
  refuseWhileDraining(app.getHttpAdapter().getInstance(), shutdown);
  registerAuthHook(app.getHttpAdapter().getInstance(), app.get(AuthService), app.get(ProtectedResource));
  if (config.console.enabled && !serveConsole(app.getHttpAdapter().getInstance(), consoleOptionsOf(config))) {
    new Logger('Console').warn('The console is not built (no dist/console-ui): npm run build builds it; /console is not served');
  }
  applyHttpLimits(app.getHttpServer(), config.http);
  warnIfOpenWithoutAuth(config);
  app.useWebSocketAdapter(new TunnelWsAdapter(app, app.get(TunnelAdmission), config.tunnel.maxFrameBytes, () => shutdown.draining));
  app.enableShutdownHooks();

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('MCP tunnel gateway')
      .setDescription(API_DESCRIPTION)
      .setVersion(PACKAGE_INFO.version)
      .addBearerAuth()
      .build(),
  );
  // persistAuthorization: the token pasted under Authorize survives a page reload (kept in the browser's localStorage).
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json', swaggerOptions: { persistAuthorization: true } });
}
