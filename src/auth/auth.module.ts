import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { AuthService } from './auth.service.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { JwtStrategy } from './jwt.strategy.js';
import { TokenVerifier } from './token-verifier.js';

/**
 * Authentication shared by the tunnel upgrade, the admin API and the MCP endpoints: AuthService is
 * the one entry; TokenVerifier and its passport-jwt strategy (JwtStrategy) verify the tokens.
 */
@Module({
  imports: [PassportModule],
  providers: [TokenVerifier, JwtStrategy, AuthService, JwtAuthGuard],
  exports: [AuthService, JwtAuthGuard],
})
export class AuthModule {}
