import { ApiProperty } from '@nestjs/swagger';
import type { CallStatsPoint, CallStatsSnapshot } from '../../tunnel/call-stats.js';

/** One interval of a session's calls. */
export class StatsPointDto {
  @ApiProperty({ description: 'Start of the interval (epoch ms).', example: 1767225600000 })
  t!: number;

  @ApiProperty({ description: 'Calls that ended in the interval (answered, failed or refused), from every door.', example: 42 })
  calls!: number;

  @ApiProperty({
    description: 'Of those, the calls that failed (timeout, tunnel closed, cancelled, busy) or were answered with a JSON-RPC error.',
    example: 1,
  })
  errors!: number;

  @ApiProperty({
    description:
      'Median latency in ms, from sending down the tunnel to the answer (a log-scale histogram: within ±19%); null when no call was timed.',
    type: Number,
    nullable: true,
    example: 12.34,
  })
  p50_ms!: number | null;

  @ApiProperty({
    description: '99th percentile latency in ms, as p50_ms; null when no call was timed.',
    type: Number,
    nullable: true,
    example: 80.5,
  })
  p99_ms!: number | null;

  /** The point as the API answers it. */
  static from(point: CallStatsPoint): StatsPointDto {
    return { t: point.t, calls: point.calls, errors: point.errors, p50_ms: point.p50Ms, p99_ms: point.p99Ms };
  }
}

/** A session's calls over the last minutes, for charts: calls, errors and latency per interval. */
export class SessionStatsDto {
  @ApiProperty({ description: 'Session id.', example: '9f2c4e0a5b7d4c1e8a3f6b2d1c0e9a8b' })
  session_id!: string;

  @ApiProperty({ description: 'Length of one point, in seconds.', example: 10 })
  interval_s!: number;

  @ApiProperty({ description: 'Time the points cover, in seconds (window_s / interval_s points).', example: 600 })
  window_s!: number;

  @ApiProperty({ description: 'Calls that ended since the session started.', example: 1234 })
  calls_total!: number;

  @ApiProperty({ description: 'Of those, the calls that failed or were answered with a JSON-RPC error.', example: 5 })
  errors_total!: number;

  @ApiProperty({
    type: [StatsPointDto],
    description:
      'One point per interval, oldest first, the last one the interval under way; intervals without calls have calls 0 and null percentiles.',
  })
  points!: StatsPointDto[];

  /** Builds the answer from a session's snapshot. */
  static from(sessionId: string, snapshot: CallStatsSnapshot): SessionStatsDto {
    return {
      session_id: sessionId,
      interval_s: snapshot.intervalMs / 1000,
      window_s: snapshot.windowMs / 1000,
      calls_total: snapshot.callsTotal,
      errors_total: snapshot.errorsTotal,
      points: snapshot.points.map((point) => StatsPointDto.from(point)),
    };
  }
}
