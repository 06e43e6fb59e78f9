import { Module } from '@nestjs/common';
import { AccessAudit } from './access-audit.js';
import { AuthService } from './auth.service.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { TokenVerifier } from './token-verifier.js';

/**
 * Authentication shared by the tunnel upgrade, the admin API and the MCP endpoints: AuthService is
 * the one entry; TokenVerifier verifies the tokens (jose: the HMAC secret or the identity provider's JWKS).
 */
@Module({
  // The access audit (sharing): one instance for the admin API, the MCP doors and the tunnel endpoint.
  providers: [TokenVerifier, AuthService, JwtAuthGuard, { provide: AccessAudit, useFactory: () => new AccessAudit() }],
  exports: [AuthService, JwtAuthGuard, AccessAudit],
})
export class AuthModule {}
