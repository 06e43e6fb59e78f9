import { Injectable } from '@nestjs/common';
import { Subject } from 'rxjs';
import type { AccessRules } from '../../auth/access-rules.js';
import { type NameClaim, type RegistryChange, SessionRegistry } from './session-registry.js';
import type { SessionHandle } from './tunnel-handle.js';
import type { TunnelSession } from './tunnel-session.js';

/** The default registry: this process's sessions, indexed by id, name and owner. */
@Injectable()
export class InMemorySessionRegistry extends SessionRegistry {
  private readonly sessions = new Map<string, TunnelSession>();
  private readonly names = new Map<string, TunnelSession>();
  private readonly ownerCounts = new Map<string | null, number>();
  private readonly changes = new Subject<RegistryChange>();
  readonly changes$ = this.changes.asObservable();

  add(session: TunnelSession): void {
    this.sessions.set(session.id, session);
    this.ownerCounts.set(session.owner, (this.ownerCounts.get(session.owner) ?? 0) + 1);
    this.changes.next({ type: 'added', session });
    session.events$.subscribe({
      // A resume reaches the session through the protocol service; the registry learns of it here.
      next: (event) => {
        if (event.type === 'resumed') this.updated(session);
      },
      // A session that closes, for whatever reason, leaves the registry by itself.
      complete: () => this.remove(session.id),
    });
  }

  get(id: string): TunnelSession | undefined {
    return this.sessions.get(id);
  }

  remove(id: string): boolean {
    const session = this.sessions.get(id);
    if (!session) return false;
    this.sessions.delete(id);
    const count = (this.ownerCounts.get(session.owner) ?? 1) - 1;
    if (count > 0) this.ownerCounts.set(session.owner, count);
    else this.ownerCounts.delete(session.owner);
    if (session.name && this.names.get(session.name) === session) this.names.delete(session.name);
    this.changes.next({ type: 'removed', session });
    return true;
  }

  list(): TunnelSession[] {
    return [...this.sessions.values()];
  }

  local(): TunnelSession[] {
    return this.list();
  }

  countByOwner(owner: string | null): number {
    return this.ownerCounts.get(owner) ?? 0;
  }

  claimName(session: TunnelSession, name: string): Promise<NameClaim> {
    return Promise.resolve(this.claimNow(session, name));
  }

  /** claimName, decided at once (the cluster registry's own index of this replica's names uses it too). */
  claimNow(session: TunnelSession, name: string): NameClaim {
    const holder = this.names.get(name);
    if (holder && holder !== session) {
      if (holder.owner !== session.owner) {
        return { ok: false, message: `Server name "${name}" is already in use by another user` };
      }
      this.names.set(name, session);
      return { ok: true, replaced: holder };
    }
    this.names.set(name, session);
    return { ok: true };
  }

  byName(name: string): TunnelSession | undefined {
    return this.names.get(name);
  }

  markRegistered(session: TunnelSession): void {
    this.changes.next({ type: 'registered', session });
  }

  override markSuspended(session: TunnelSession): void {
    this.updated(session);
  }

  /** Replaces the rules (SessionRegistry.share) and announces the change for one of its sessions. */
  override share(session: SessionHandle, rules: AccessRules): boolean {
    if (!super.share(session, rules)) return false;
    this.updated(session);
    return true;
  }

  private updated(session: SessionHandle): void {
    if (this.sessions.get(session.id) === session) this.changes.next({ type: 'updated', session });
  }
}
