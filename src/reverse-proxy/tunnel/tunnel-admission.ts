import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import { AuthService } from '../../auth/auth.service.js';
import { ProtectedResource } from '../../auth/oauth/protected-resource.js';
import { authRefusal } from '../../auth/www-authenticate.js';
import type { Principal } from '../../auth/principal.js';
import type { AppConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { GatewayMetrics } from '../../metrics/gateway-metrics.js';
import type { UpgradeRefusal } from '../../metrics/metric-labels.js';
import { SessionRegistry } from './session-registry.js';

export type UpgradeVerdict =
  { ok: true; principal: Principal } | { ok: false; status: number; message: string; headers?: Record<string, string> };

/**
 * Who may open a tunnel, decided on the HTTP upgrade before the WebSocket is accepted (Nest guards
 * do not run on WebSocket connections): `admit()` authenticates the upgrade and checks the per-user
 * session limit, holding a slot for an admitted upgrade until its connection `claim()`s it (or the
 * upgrade dies first). The upgrade cannot tell a resume from a new tunnel (the `register` comes
 * later), so each of the user's suspended sessions lets one upgrade past the limit.
 */
@Injectable()
export class TunnelAdmission {
  private readonly logger = new Logger('TunnelAdmission');
  /** Admitted upgrades not yet claimed by their connection: who they are and how to give their slot back. */
  private readonly admitted = new WeakMap<IncomingMessage, { principal: Principal; release: () => void }>();
  /** Upgrades admitted but not yet connected, per owner: they count against the limit too. */
  private readonly reserved = new Map<string | null, number>();

  constructor(
    private readonly auth: AuthService,
    private readonly registry: SessionRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    // A default for the unit tests that build the admission by hand; Nest always injects the app's.
    private readonly metrics: GatewayMetrics = new GatewayMetrics(),
    // Where a 401's challenge points the client; absent in the unit tests that build the admission by hand.
    @Optional() private readonly resource?: ProtectedResource,
  ) {}

  /** Counts an upgrade the WebSocket adapter refused before admission (draining, another path, an internal error). */
  refusedBefore(reason: UpgradeRefusal): void {
    this.metrics.upgradeRejected(reason);
  }

  /** Authenticates the upgrade request and checks the per-user session limit; an admitted upgrade holds a slot. */
  async admit(req: IncomingMessage): Promise<UpgradeVerdict> {
    let principal: Principal;
    try {
      principal = await this.auth.authenticate(req);
    } catch (err) {
      const refusal = authRefusal(err, this.resource?.challengeHints(req.url));
      this.logger.warn({ msg: 'Tunnel upgrade refused', reason: refusal.message, remote: req.socket.remoteAddress });
      this.metrics.upgradeRejected('unauthenticated');
      return { ok: false, ...refusal };
    }
    const limit = this.config.tunnel.maxSessionsPerUser;
    const owner = principal.user;
    // Counted after the await: upgrades admitted meanwhile hold a reservation, so a burst cannot overshoot.
    const held = this.registry.countByOwner(owner) + (this.reserved.get(owner) ?? 0);
    // A suspended session still counts, so a user at the limit could not resume it: each one allows one
    // connection more, which may resume but not register a new session (TunnelProtocolService.register).
    if (held >= limit && held >= limit + this.registry.suspendedByOwner(owner)) {
      this.logger.warn({ msg: 'Tunnel upgrade refused', reason: 'session limit', user: owner });
      this.metrics.upgradeRejected('session_limit');
      return { ok: false, status: 429, message: `Too many sessions for this user (limit ${limit})` };
    }
    this.admitted.set(req, { principal, release: this.reserve(req, owner) });
    return { ok: true, principal };
  }

  /**
   * Hands the connection of an admitted upgrade its principal and gives the upgrade's slot back: from
   * here the session it opens counts in the registry instead. Once per upgrade; undefined for a request
   * that was not admitted (or was claimed already).
   */
  claim(req: IncomingMessage): Principal | undefined {
    const admission = this.admitted.get(req);
    if (!admission) return undefined;
    this.admitted.delete(req);
    admission.release();
    return admission.principal;
  }

  /** Holds one of the owner's slots; the returned release gives it back, once. */
  private reserve(req: IncomingMessage, owner: string | null): () => void {
    this.reserved.set(owner, (this.reserved.get(owner) ?? 0) + 1);
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      const left = (this.reserved.get(owner) ?? 1) - 1;
      if (left > 0) this.reserved.set(owner, left);
      else this.reserved.delete(owner);
    };
    // An upgrade that dies between admission and connection gives its slot back too.
    req.socket.once('close', release);
    return release;
  }
}
