import {
  BadGatewayException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
  type OnModuleInit,
  Optional,
  ServiceUnavailableException,
} from '@nestjs/common';
import { roleAllows } from '../../auth/access-rules.js';
import type { Principal } from '../../auth/principal.js';
import { isObject } from '../../protocol/json-rpc.js';
import { ExchangeRelay } from '../cluster/exchange-relay.js';
import { relayedPrincipal, type RelayedExchangeRequest } from '../cluster/relay-envelope.js';
import { CALL_STATS_LIMITS } from '../tunnel/call-stats.js';
import { sessionRole } from '../tunnel/session-access.js';
import { SessionRegistry } from '../tunnel/session-registry.js';
import type { SessionHandle } from '../tunnel/tunnel-handle.js';
import { SessionStatsDto, type StatsPointDto } from './dto/session-stats.dto.js';

/** The exchange-relay door that serves another replica's stats requests for this replica's tunnels. */
export const SESSION_STATS_DOOR = 'session-stats';

/** Largest stats answer taken from another replica (60 points are about 5 KiB). */
const MAX_RELAYED_STATS_BYTES = 64 * 1024;

const STATS_PATH = /^\/reverse-proxy\/sessions\/([0-9a-f]{1,64})\/stats$/;

/**
 * Reads a session's call stats (GET /reverse-proxy/sessions/:id/stats). They live where the tunnel
 * is: in cluster mode a session held by another replica is asked there, through the exchange relay
 * (the replica authorises the caller again), so every replica answers the same numbers.
 */
@Injectable()
export class SessionStatsReader implements OnModuleInit {
  constructor(
    private readonly registry: SessionRegistry,
    @Optional() @Inject(ExchangeRelay) private readonly exchanges: ExchangeRelay | null,
  ) {}

  onModuleInit(): void {
    // A refusal thrown while serving becomes the rejection the relay answers with.
    this.exchanges?.serveWith(SESSION_STATS_DOOR, (relayed) => new Promise((resolve) => resolve(this.serveRelayed(relayed))));
  }

  /** The stats of a session the caller may use (OwnershipGuard decided): from the tunnel here, or from its replica. */
  async read(session: SessionHandle, principal: Principal): Promise<SessionStatsDto> {
    if (session.callStats) return SessionStatsDto.from(session.id, session.callStats());
    const home = this.registry.remoteReplicaOf(session);
    if (home === undefined || !this.exchanges) throw new ServiceUnavailableException('The stats of this session cannot be read here');
    const response = await this.exchanges.forward(home, {
      door: SESSION_STATS_DOOR,
      name: session.name ?? '',
      principal: relayedPrincipal(principal),
      method: 'GET',
      url: `/reverse-proxy/sessions/${session.id}/stats`,
      headers: [],
    });
    const stats = parseStats(await boundedText(response, MAX_RELAYED_STATS_BYTES), session.id);
    if (!stats) throw new BadGatewayException('The gateway replica holding this session answered unexpectedly');
    return stats;
  }

  /** Another replica's request for one of this replica's tunnels: authorised here as a local read would be. */
  private serveRelayed(relayed: RelayedExchangeRequest): Response {
    const id = STATS_PATH.exec(relayed.url)?.[1];
    const session = id === undefined ? undefined : this.registry.get(id);
    if (!session?.callStats) throw new NotFoundException(`Session ${(id ?? '').slice(0, 64)} not found`);
    const principal: Principal = { ...relayed.principal, via: relayed.principal.via ?? 'jwt' };
    if (!roleAllows(sessionRole(session, principal), 'use')) throw new ForbiddenException('Not authorized for this session');
    return Response.json(SessionStatsDto.from(session.id, session.callStats()));
  }
}

/** The body of a relayed answer, up to `limit` bytes; undefined past it. */
async function boundedText(response: Response, limit: number): Promise<string | undefined> {
  if (!response.ok || !response.body) return undefined;
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A relayed stats answer, checked field by field (another replica's, of maybe another version). */
function parseStats(text: string | undefined, sessionId: string): SessionStatsDto | undefined {
  let value: unknown;
  try {
    value = text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(value) || value.session_id !== sessionId || !Array.isArray(value.points)) return undefined;
  const { interval_s, window_s, calls_total, errors_total } = value;
  if (![interval_s, window_s, calls_total, errors_total].every(isCount)) return undefined;
  if (value.points.length > CALL_STATS_LIMITS.intervals) return undefined;
  const points: StatsPointDto[] = [];
  for (const p of value.points as unknown[]) {
    if (!isObject(p) || !isCount(p.t) || !isCount(p.calls) || !isCount(p.errors) || !isLatency(p.p50_ms) || !isLatency(p.p99_ms)) {
      return undefined;
    }
    points.push({ t: p.t, calls: p.calls, errors: p.errors, p50_ms: p.p50_ms, p99_ms: p.p99_ms });
  }
  return {
    session_id: sessionId,
    interval_s: interval_s as number,
    window_s: window_s as number,
    calls_total: calls_total as number,
    errors_total: errors_total as number,
    points,
  };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isLatency(value: unknown): value is number | null {
  return value === null || isCount(value);
}
