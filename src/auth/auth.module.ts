import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { AuthService } from './auth.service.js';
import { HttpAuthenticator } from './http-authenticator.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';
import { JwtStrategy } from './jwt.strategy.js';

/** Authentication shared by the tunnel upgrade, the admin API and the MCP endpoints. */
@Module({
  imports: [PassportModule, JwtModule.register({})],
  providers: [AuthService, JwtStrategy, HttpAuthenticator, JwtAuthGuard],
  exports: [AuthService, HttpAuthenticator, JwtAuthGuard],
})
export class AuthModule {}
