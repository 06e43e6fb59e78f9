import { GUARDS_METADATA } from '@nestjs/common/constants.js';
import { JwtAuthGuard } from '../../src/auth/jwt-auth.guard.js';
import { CatalogController } from '../../src/mcp/catalog/catalog.controller.js';
import { HostGuard } from '../../src/mcp/http/host.guard.js';
import { LegacySseController } from '../../src/mcp/legacy-sse.controller.js';
import { OriginGuard } from '../../src/mcp/http/origin.guard.js';
import { StreamableHttpController } from '../../src/mcp/streamable-http.controller.js';
import { SessionsController } from '../../src/reverse-proxy/admin/sessions.controller.js';

test.each([
  ['SessionsController', SessionsController, [JwtAuthGuard]],
  ['CatalogController', CatalogController, [JwtAuthGuard]],
  ['StreamableHttpController', StreamableHttpController, [HostGuard, OriginGuard, JwtAuthGuard]],
  ['LegacySseController', LegacySseController, [HostGuard, OriginGuard, JwtAuthGuard]],
])('%s: @Authenticated() adds JwtAuthGuard after the DNS-rebinding guards', (_name, controller, guards) => {
  expect(Reflect.getMetadata(GUARDS_METADATA, controller)).toEqual(guards);
});
