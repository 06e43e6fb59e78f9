/** What the console shows about its own token: read from the JWT's payload, never verified (the gateway verifies). */
export interface TokenSummary {
  /** `sub`, else `email`; undefined when the token says neither. */
  subject?: string;
  /** When it expires (epoch ms), if it says. */
  expiresAt?: number;
}

/** The subject and expiry a JWT claims; empty for anything that is not a readable JWT. */
export function summarizeToken(token: string): TokenSummary {
  const payload = token.split('.')[1];
  if (payload === undefined || payload.length > 8192) return {};
  let claims: unknown;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const binary = atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '='));
    claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch {
    return {};
  }
  if (typeof claims !== 'object' || claims === null) return {};
  const c = claims as Record<string, unknown>;
  const subject = typeof c.sub === 'string' ? c.sub : typeof c.email === 'string' ? c.email : undefined;
  return {
    ...(subject !== undefined ? { subject: subject.slice(0, 200) } : {}),
    ...(typeof c.exp === 'number' ? { expiresAt: c.exp * 1000 } : {}),
  };
}
