import { Inject, Injectable, Logger } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { AuthError, AuthService } from '../auth/auth.service.js';
import type { Principal } from '../auth/principal.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { SessionRegistry } from './session-registry.js';

export type UpgradeVerdict = { ok: true; principal: Principal } | { ok: false; status: number; message: string };

/**
 * Decides whether a tunnel upgrade may proceed, before the WebSocket is accepted (Nest guards do
 * not run on WebSocket connections). The verdict's principal is kept for the gateway to read.
 */
@Injectable()
export class TunnelConnectionGuard {
  private readonly logger = new Logger('TunnelConnectionGuard');
  private readonly principals = new WeakMap<IncomingMessage, Principal>();
  /** Upgrades verified but not yet connected, per owner: they count against the limit too. */
  private readonly reserved = new Map<string | null, number>();
  private readonly releases = new WeakMap<IncomingMessage, () => void>();

  constructor(
    private readonly auth: AuthService,
    private readonly registry: SessionRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Authenticates the upgrade request and checks the per-user session limit. */
  async verify(req: IncomingMessage): Promise<UpgradeVerdict> {
    let principal: Principal;
    try {
      principal = await this.auth.authenticate(req);
    } catch (err) {
      const message = err instanceof AuthError ? err.message : 'Authentication failed';
      this.logger.warn({ msg: 'Tunnel upgrade refused', reason: message, remote: req.socket.remoteAddress });
      return { ok: false, status: 401, message };
    }
    const limit = this.config.tunnel.maxSessionsPerUser;
    const owner = principal.user;
    // Counted after the await: upgrades verified meanwhile hold a reservation, so a burst cannot overshoot.
    if (this.registry.countByOwner(owner) + (this.reserved.get(owner) ?? 0) >= limit) {
      this.logger.warn({ msg: 'Tunnel upgrade refused', reason: 'session limit', user: owner });
      return { ok: false, status: 429, message: `Too many sessions for this user (limit ${limit})` };
    }
    this.reserve(req, owner);
    this.principals.set(req, principal);
    return { ok: true, principal };
  }

  /** The principal a verified upgrade request carried; its reservation ends as the session takes its place. */
  principalOf(req: IncomingMessage): Principal | undefined {
    this.releases.get(req)?.();
    return this.principals.get(req);
  }

  private reserve(req: IncomingMessage, owner: string | null): void {
    this.reserved.set(owner, (this.reserved.get(owner) ?? 0) + 1);
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      const left = (this.reserved.get(owner) ?? 1) - 1;
      if (left > 0) this.reserved.set(owner, left);
      else this.reserved.delete(owner);
    };
    this.releases.set(req, release);
    // An upgrade that dies between verification and connection gives its slot back too.
    req.socket.once('close', release);
  }
}
