import { Logger } from '@nestjs/common';
import type { ShareRules } from '../protocol/share.js';
import type { Principal } from './principal.js';

/** Where a use was refused: the REST routes (by what they do) and the MCP doors. */
export type AuditDoor = 'rest' | 'sse' | 'details' | 'disconnect' | 'access' | 'mcp' | 'legacy-sse';

/** The server a decision was about: its session id and registered name (absent before `register`). */
export interface AuditedServer {
  session: string;
  server: string | undefined;
}

/**
 * The access audit: one line through the app's logger (context `Audit`) per change of a server's
 * access rules and per refused use, with who, what and when. Never a token: only owner keys,
 * names and the rules.
 */
export class AccessAudit {
  constructor(
    private readonly logger: Pick<Logger, 'log'> = new Logger('Audit'),
    private readonly now: () => number = Date.now,
  ) {}

  /** `by` (an owner key; null: anonymous) set the rules of a server, through `via`: the tunnel's register, or the REST API. */
  rulesChanged(by: string | null, target: AuditedServer, rules: ShareRules, via: 'register' | 'rest'): void {
    this.logger.log({ msg: 'access rules changed', by: by ?? 'anonymous', ...target, rules, via, at: this.at() });
  }

  /** `principal` was refused at `door` on a server it may not use (or not manage). */
  useRefused(principal: Principal, target: AuditedServer, door: AuditDoor): void {
    this.logger.log({ msg: 'use refused', who: principal.user ?? 'anonymous', ...target, door, at: this.at() });
  }

  private at(): string {
    return new Date(this.now()).toISOString();
  }
}
