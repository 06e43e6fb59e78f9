import { Redis, type RedisOptions } from 'ioredis';
import type { AppConfig } from '../../config/app-config.js';
import { InMemorySessionRegistry } from '../tunnel/in-memory-session-registry.js';
import type { SessionRegistry } from '../tunnel/session-registry.js';
import { ClusterBus } from './cluster-bus.js';
import { ClusterDirectory } from './cluster-directory.js';
import { ClusterSessionRegistry } from './cluster-session-registry.js';
import { RelaySeal } from './relay-envelope.js';

/** Limits of cluster mode that are not settings. */
export const CLUSTER_LIMITS = {
  /** Calls one replica may relay to others at once. */
  maxRelayedCalls: 16_384,
  /** A relay message older than this (by its sender's clock) is refused: replicas' clocks must agree within it. */
  maxMessageAgeMs: 60_000,
  /** Longest wait for Redis to connect; the replica retries every 100 ms to 2 s meanwhile. */
  connectTimeoutMs: 2000,
  maxRetryDelayMs: 2000,
} as const;

/**
 * The registry the settings ask for: in memory, or with REDIS_URL the cluster registry on two
 * connections of its own (one only listens, as pub/sub requires; the other has no offline queue,
 * so nothing waits for a Redis that is away).
 */
export function createSessionRegistry(config: AppConfig): SessionRegistry {
  const cluster = config.cluster;
  if (!cluster) return new InMemorySessionRegistry();
  const options: RedisOptions = {
    lazyConnect: true,
    connectTimeout: CLUSTER_LIMITS.connectTimeoutMs,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(100 * times, CLUSTER_LIMITS.maxRetryDelayMs),
  };
  const commands = new Redis(cluster.redisUrl, { ...options, enableOfflineQueue: false, connectionName: `${cluster.replicaId}:commands` });
  const subscriber = new Redis(cluster.redisUrl, { ...options, autoResubscribe: false, connectionName: `${cluster.replicaId}:relay` });
  // The registry reports Redis trouble itself (once per outage); ioredis would print every retry otherwise.
  for (const connection of [commands, subscriber]) connection.on('error', () => undefined);
  const seal = new RelaySeal(cluster.secret, {
    // The largest message is an answer as large as a tunnel frame, or a request as large as a body.
    maxBytes: 2 * Math.max(config.tunnel.maxFrameBytes, config.requests.maxBodyBytes),
    maxDepth: config.limits.maxJsonDepth + 8,
    maxAgeMs: CLUSTER_LIMITS.maxMessageAgeMs,
  });
  const { prefix, replicaId, leaseMs } = cluster;
  const directory = new ClusterDirectory({ redis: commands, prefix, replicaId, leaseMs });
  const bus = new ClusterBus({ publisher: commands, subscriber, seal, prefix, replicaId });
  return new ClusterSessionRegistry(
    { directory, bus, connections: [commands, subscriber], subscriber, commands },
    { leaseMs, maxRelayedCalls: CLUSTER_LIMITS.maxRelayedCalls },
  );
}
