import jwt from 'jsonwebtoken';

export interface TokenOptions {
  secret: string;
  sub?: string;
  email?: string;
  admin?: boolean;
  /** Lifetime such as "1h", "30m", "7d", or seconds. */
  expiresIn?: string | number;
  issuer?: string;
  audience?: string;
  algorithm?: 'HS256' | 'HS384' | 'HS512';
}

/**
 * Signs a gateway token; used by `npm run token` and the tests. With jsonwebtoken (synchronous)
 * rather than @nestjs/jwt, whose import alone costs `npm run token` about 0.3 s.
 */
export function signToken(options: TokenOptions): string {
  const claims: Record<string, unknown> = {};
  if (options.sub) claims.sub = options.sub;
  if (options.email) claims.email = options.email;
  if (options.admin) claims.is_admin = true;
  return jwt.sign(claims, options.secret, {
    algorithm: options.algorithm ?? 'HS256',
    ...(options.expiresIn !== undefined ? { expiresIn: options.expiresIn as never } : {}),
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
  });
}
