import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PACKAGE_INFO } from '../config/package-info.js';
import {
  CALL_DOORS,
  CALL_OUTCOMES,
  disconnectReasonOf,
  DISCONNECT_REASONS,
  failureOutcomeOf,
  MCP_TRANSPORTS,
  REGISTRATION_RESULTS,
  TUNNEL_STATES,
  UPGRADE_REFUSALS,
  type CallDoor,
  type CallOutcome,
  type DisconnectReason,
  type McpTransport,
  type RegistrationResult,
  type TunnelState,
  type UpgradeRefusal,
} from './metric-labels.js';
import { processMetrics } from './process-metrics.js';

/** Prefix of every metric of the gateway's own (prom-client's process metrics keep their usual names). */
export const METRIC_PREFIX = 'mcp_gateway_';

/** Upper bounds of the call duration histogram, in seconds: sub-millisecond loopback calls up to REQUEST_TIMEOUT_MS's 60 s. */
export const CALL_DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** What the tunnel gauges read from one tunnel this process holds (a TunnelSession). */
export interface TunnelGaugeSource {
  readonly state: string;
  /** Waiting for its client to resume. */
  readonly suspended: boolean;
  /** Calls in flight on it. */
  readonly pendingCount: number;
  /** Admin SSE streams following it. */
  readonly streamSubscriberCount: number;
}

/** What the MCP session gauge reads from one MCP client session (an McpClientSession). */
export interface McpSessionGaugeSource {
  /** `streamable-http` or `sse`. */
  readonly kind: string;
}

const STATE_INDEX = new Map<string, number>(TUNNEL_STATES.map((s, i) => [s, i]));
const TRANSPORT_INDEX = new Map<string, number>([
  ['streamable-http', MCP_TRANSPORTS.indexOf('streamable_http')],
  ['sse', MCP_TRANSPORTS.indexOf('sse')],
]);
const OUTCOME_INDEX = new Map<CallOutcome, number>(CALL_OUTCOMES.map((o, i) => [o, i]));
const DOOR_INDEX = new Map<CallDoor, number>(CALL_DOORS.map((d, i) => [d, i]));

/**
 * The gateway's Prometheus metrics, in a registry of its own (never prom-client's global one, so
 * several gateways in one process do not collide). Events are told through verbs, each one call at
 * the place it happens; current state (tunnels, calls in flight, sessions, subscribers) is read at
 * scrape time from the parts that own it (`watch…`), so no gauge can drift from the truth. The
 * per-frame and per-call counts are plain numbers handed to prom-client at scrape time: the hot
 * paths pay an addition, not a label lookup.
 */
export class GatewayMetrics {
  private readonly registry = new Registry();
  // Made now, not at the first scrape: prom-client counts the process's CPU time from when its collectors start.
  private readonly processRegistry = processMetrics();
  private tunnels: () => Iterable<TunnelGaugeSource> = () => [];
  private mcpSessions: () => Iterable<McpSessionGaugeSource> = () => [];
  private readiness: () => boolean = () => true;
  private framesIn = 0;
  private framesOut = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  /** Calls by door and outcome: [door * CALL_OUTCOMES.length + outcome]. */
  private readonly calls = new Float64Array(CALL_DOORS.length * CALL_OUTCOMES.length);
  private readonly durations: Histogram.Internal<'door'>[];
  private readonly registrations: Record<RegistrationResult, Counter.Internal>;
  private readonly disconnects: Record<DisconnectReason, Counter.Internal>;
  private readonly upgradeRefusals: Record<UpgradeRefusal, Counter.Internal>;

  constructor(
    /** Monotonic clock in milliseconds; injected by tests. */
    private readonly now: () => number = () => performance.now(),
  ) {
    const registers = [this.registry];

    new Gauge({
      name: `${METRIC_PREFIX}build_info`,
      help: 'Always 1; the version label names the running gateway.',
      labelNames: ['version'],
      registers,
    }).set({ version: PACKAGE_INFO.version }, 1);
    // Gauges and hot counters are filled in by their collect callbacks, which prom-client runs at each scrape.
    const ready: Gauge = new Gauge({
      name: `${METRIC_PREFIX}ready`,
      help: '1 while the gateway takes tunnels and calls (what /ready answers 200 for), else 0.',
      registers,
      collect: () => ready.set(this.readiness() ? 1 : 0),
    });
    const tunnels: Gauge<'state'> = new Gauge({
      name: `${METRIC_PREFIX}tunnels`,
      help: 'Tunnels this process holds, by state (connected: not registered yet; suspended: waiting for its client to resume).',
      labelNames: ['state'],
      registers,
      collect: () => this.countTunnels(tunnels),
    });
    const inFlight: Gauge = new Gauge({
      name: `${METRIC_PREFIX}calls_in_flight`,
      help: "Calls waiting for an answer on this process's tunnels, whichever door or replica they came from.",
      registers,
      collect: () => inFlight.set(this.sumOverTunnels((tunnel) => tunnel.pendingCount)),
    });
    const subscribers: Gauge = new Gauge({
      name: `${METRIC_PREFIX}sse_subscribers`,
      help: "Admin SSE streams (/reverse-proxy/sse/:id) following this process's tunnels.",
      registers,
      collect: () => subscribers.set(this.sumOverTunnels((tunnel) => tunnel.streamSubscriberCount)),
    });
    const sessions: Gauge<'transport'> = new Gauge({
      name: `${METRIC_PREFIX}mcp_sessions`,
      help: 'MCP client sessions this process holds, by transport (the stateless 2026-07-28 revision has none).',
      labelNames: ['transport'],
      registers,
      collect: () => this.countMcpSessions(sessions),
    });

    const frames: Counter<'direction'> = new Counter({
      name: `${METRIC_PREFIX}tunnel_frames_total`,
      help: 'WebSocket frames on tunnels, by direction (in: from tunnel clients; out: to them).',
      labelNames: ['direction'],
      registers,
      collect: () =>
        setCounter(frames, [
          [{ direction: 'in' }, this.framesIn],
          [{ direction: 'out' }, this.framesOut],
        ]),
    });
    const bytes: Counter<'direction'> = new Counter({
      name: `${METRIC_PREFIX}tunnel_bytes_total`,
      help: 'Bytes of WebSocket frames on tunnels (payload, UTF-8), by direction.',
      labelNames: ['direction'],
      registers,
      collect: () =>
        setCounter(bytes, [
          [{ direction: 'in' }, this.bytesIn],
          [{ direction: 'out' }, this.bytesOut],
        ]),
    });
    const calls: Counter<'door' | 'outcome'> = new Counter({
      name: `${METRIC_PREFIX}calls_total`,
      help: 'Calls through tunnels that ended, by door (rest, mcp, sse) and outcome (ok, error: a JSON-RPC error answer, else why there was no answer).',
      labelNames: ['door', 'outcome'],
      registers,
      collect: () =>
        setCounter(
          calls,
          CALL_DOORS.flatMap((door, d) =>
            CALL_OUTCOMES.map((outcome, o) => [{ door, outcome }, this.calls[d * CALL_OUTCOMES.length + o]] as const),
          ),
        ),
    });
    const duration = new Histogram({
      name: `${METRIC_PREFIX}call_duration_seconds`,
      help: 'Time from a call entering the gateway to its answer or failure, by door.',
      labelNames: ['door'],
      buckets: [...CALL_DURATION_BUCKETS],
      registers,
    });
    CALL_DOORS.forEach((door) => duration.zero({ door }));
    this.durations = CALL_DOORS.map((door) => duration.labels(door));

    this.registrations = labelled(
      new Counter({
        name: `${METRIC_PREFIX}tunnel_registrations_total`,
        help: 'Tunnel register frames handled, by result (registered, refused: name taken, resumed, resume_refused).',
        labelNames: ['result'],
        registers,
      }),
      REGISTRATION_RESULTS,
    );
    this.disconnects = labelled(
      new Counter({
        name: `${METRIC_PREFIX}tunnel_disconnects_total`,
        help: 'Tunnel sessions that ended, by reason.',
        labelNames: ['reason'],
        registers,
      }),
      DISCONNECT_REASONS,
    );
    this.upgradeRefusals = labelled(
      new Counter({
        name: `${METRIC_PREFIX}tunnel_upgrades_rejected_total`,
        help: 'HTTP upgrades (WebSocket) refused, by reason (unauthenticated 401, session_limit 429, draining 503, not_found 404: not the tunnel path, error 500).',
        labelNames: ['reason'],
        registers,
      }),
      UPGRADE_REFUSALS,
    );
  }

  /** The Content-Type of `exposition()`: Prometheus text format 0.0.4. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format: the gateway's own, then the process's (prom-client defaults). */
  async exposition(): Promise<string> {
    const [own, processText] = await Promise.all([this.registry.metrics(), this.processRegistry.metrics()]);
    return `${own}\n${processText}`;
  }

  /** The tunnels this process holds, read at every scrape. */
  watchTunnels(source: () => Iterable<TunnelGaugeSource>): void {
    this.tunnels = source;
  }

  /** The MCP client sessions this process holds, read at every scrape. */
  watchMcpSessions(source: () => Iterable<McpSessionGaugeSource>): void {
    this.mcpSessions = source;
  }

  /** Whether the gateway is ready (the readiness probe's answer), read at every scrape. */
  watchReadiness(source: () => boolean): void {
    this.readiness = source;
  }

  /** A tunnel frame of `bytes` arrived. */
  frameIn(bytes: number): void {
    this.framesIn++;
    this.bytesIn += bytes;
  }

  /** A tunnel frame of `bytes` was sent. */
  frameOut(bytes: number): void {
    this.framesOut++;
    this.bytesOut += bytes;
  }

  /** A tunnel's `register` ended with `result`. */
  tunnelRegistered(result: RegistrationResult): void {
    this.registrations[result].inc();
  }

  /** A tunnel session closed for `reason` (its close reason; counted under a fixed label). */
  tunnelClosed(reason: string): void {
    this.disconnects[disconnectReasonOf(reason)].inc();
  }

  /** An upgrade to the tunnel endpoint was refused. */
  upgradeRejected(reason: UpgradeRefusal): void {
    this.upgradeRefusals[reason].inc();
  }

  /** A call through `door` ended with `outcome` after `seconds`. */
  callFinished(door: CallDoor, outcome: CallOutcome, seconds: number): void {
    const d = DOOR_INDEX.get(door)!;
    this.calls[d * CALL_OUTCOMES.length + OUTCOME_INDEX.get(outcome)!]++;
    this.durations[d].observe(seconds);
  }

  /**
   * Starts a call through `door` (`start`, e.g. `() => tunnel.call(…)`) and counts how it ends: a
   * JSON-RPC answer is `ok` or `error`, a failure its reason. Returns the call's own promise; a
   * synchronous throw (a busy tunnel) is counted and thrown again, so callers see no difference.
   */
  timeCall<T extends object>(door: CallDoor, start: () => Promise<T>): Promise<T> {
    const started = this.now();
    let answer: Promise<T>;
    try {
      answer = start();
    } catch (err) {
      this.callFinished(door, failureOutcomeOf(err), this.secondsSince(started));
      throw err;
    }
    answer.then(
      (response) => this.callFinished(door, 'error' in response ? 'error' : 'ok', this.secondsSince(started)),
      (err: unknown) => this.callFinished(door, failureOutcomeOf(err), this.secondsSince(started)),
    );
    return answer;
  }

  private countTunnels(gauge: Gauge<'state'>): void {
    const counts = new Array<number>(TUNNEL_STATES.length).fill(0);
    for (const tunnel of this.tunnels()) {
      const index = STATE_INDEX.get(tunnel.suspended ? 'suspended' : tunnel.state);
      if (index !== undefined) counts[index]++;
    }
    TUNNEL_STATES.forEach((state: TunnelState, i) => gauge.set({ state }, counts[i]));
  }

  private sumOverTunnels(read: (tunnel: TunnelGaugeSource) => number): number {
    let sum = 0;
    for (const tunnel of this.tunnels()) sum += read(tunnel);
    return sum;
  }

  private countMcpSessions(gauge: Gauge<'transport'>): void {
    const counts = new Array<number>(MCP_TRANSPORTS.length).fill(0);
    for (const session of this.mcpSessions()) {
      const index = TRANSPORT_INDEX.get(session.kind);
      if (index !== undefined) counts[index]++;
    }
    MCP_TRANSPORTS.forEach((transport: McpTransport, i) => gauge.set({ transport }, counts[i]));
  }

  private secondsSince(started: number): number {
    return (this.now() - started) / 1000;
  }
}

/** Sets a counter kept as plain numbers to their current totals (at scrape time; they only ever grow). */
function setCounter<L extends string>(counter: Counter<L>, totals: readonly (readonly [Partial<Record<L, string>>, number])[]): void {
  counter.reset();
  for (const [labels, total] of totals) counter.inc(labels, total);
}

/** One child per label value, made (and exposed at zero) up front, so `rate()` sees every series from the start. */
function labelled<L extends string>(counter: Counter<string>, values: readonly L[]): Record<L, Counter.Internal> {
  const children = values.map((value) => {
    const child = counter.labels(value);
    child.inc(0);
    return [value, child] as const;
  });
  return Object.fromEntries(children) as Record<L, Counter.Internal>;
}
