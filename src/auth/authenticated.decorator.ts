import { applyDecorators, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from './error-response.dto.js';
import { JwtAuthGuard } from './jwt-auth.guard.js';

/**
 * A controller (or route) for authenticated callers only: JwtAuthGuard hands it the principal the
 * auth hook verified, and the API docs show bearer auth and the 401. Class decorators apply bottom
 * up and each `UseGuards` appends: guards listed in a `@UseGuards()` written below this one run
 * before JwtAuthGuard.
 */
export const Authenticated = (): ClassDecorator & MethodDecorator =>
  applyDecorators(
    UseGuards(JwtAuthGuard),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({
      description: 'Missing, invalid or expired token.',
      type: ErrorResponseDto,
      headers: {
        'WWW-Authenticate': {
          description: 'Bearer, with error="invalid_token" when a token was refused (RFC 6750).',
          schema: { type: 'string' },
        },
      },
    }),
  );
