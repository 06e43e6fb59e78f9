import { Global, Module } from '@nestjs/common';
import { ProtectedResourceController } from './protected-resource.controller.js';
import { ProtectedResource } from './protected-resource.js';

/**
 * The gateway as an OAuth protected resource: its metadata endpoints, and `ProtectedResource` for
 * everything that answers a 401 (the auth hook, the error filter, the tunnel upgrade), so global.
 */
@Global()
@Module({
  controllers: [ProtectedResourceController],
  providers: [ProtectedResource],
  exports: [ProtectedResource],
})
export class ProtectedResourceModule {}
