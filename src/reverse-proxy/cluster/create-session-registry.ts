import { Redis, type RedisOptions } from 'ioredis';
import type { AppConfig } from '../../config/app-config.js';
import { InMemorySessionRegistry } from '../tunnel/in-memory-session-registry.js';
import type { SessionRegistry } from '../tunnel/session-registry.js';
import { ClusterBus } from './cluster-bus.js';
import { ClusterDirectory } from './cluster-directory.js';
import { ClusterSessionRegistry, type ClusterRegistryParts } from './cluster-session-registry.js';
import { ExchangeRelay } from './exchange-relay.js';
import { RelaySeal } from './relay-envelope.js';

/** DI token of cluster mode's shared parts (`Cluster`), `null` without REDIS_URL. */
export const CLUSTER = Symbol('CLUSTER');

/** Cluster mode's parts: the Redis connections, the directory and bus over them, and the exchange relay. */
export interface Cluster extends ClusterRegistryParts {
  exchanges: ExchangeRelay;
}

/** Limits of cluster mode that are not settings. */
export const CLUSTER_LIMITS = {
  /** Calls one replica may relay to others at once. */
  maxRelayedCalls: 16_384,
  /** A relay message older than this (by its sender's clock) is refused: replicas' clocks must agree within it. */
  maxMessageAgeMs: 60_000,
  /** Most relay messages one sealed batch carries (what one replica sends another in an event-loop turn); longer runs are split. */
  maxBatchMessages: 512,
  /** Longest wait for Redis to connect; the replica retries every 100 ms to 2 s meanwhile. */
  connectTimeoutMs: 2000,
  maxRetryDelayMs: 2000,
  /** HTTP exchanges one replica serves for the others at once. */
  maxServedExchanges: 10_000,
  /** Beyond REQUEST_TIMEOUT_MS, how long an entry replica waits for a relayed response to start. */
  exchangeHeadMarginMs: 5000,
} as const;

/**
 * Cluster mode's parts when REDIS_URL is set (else null): two connections (one only listens, as
 * pub/sub requires; the other has no offline queue, so nothing waits for a Redis that is away), the
 * directory, the bus and the exchange relay over them.
 */
export function createCluster(config: AppConfig): Cluster | null {
  const cluster = config.cluster;
  if (!cluster) return null;
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
    // The largest message is an answer as large as a tunnel frame, or a request as large as a body; a batch is held to it too.
    maxBytes: 2 * Math.max(config.tunnel.maxFrameBytes, config.requests.maxBodyBytes),
    maxDepth: config.limits.maxJsonDepth + 8,
    maxAgeMs: CLUSTER_LIMITS.maxMessageAgeMs,
    maxBatchMessages: CLUSTER_LIMITS.maxBatchMessages,
  });
  const { prefix, replicaId, leaseMs } = cluster;
  const directory = new ClusterDirectory({ redis: commands, prefix, replicaId, leaseMs });
  const bus = new ClusterBus({ publisher: commands, subscriber, seal, prefix, replicaId });
  const exchanges = new ExchangeRelay(bus, {
    headTimeoutMs: config.requests.defaultTimeoutMs + CLUSTER_LIMITS.exchangeHeadMarginMs,
    maxServed: CLUSTER_LIMITS.maxServedExchanges,
  });
  // Chunks on the way may be lost with the connection: the exchanges end rather than stall.
  subscriber.on('close', () => exchanges.failAll());
  return { directory, bus, connections: [commands, subscriber], subscriber, commands, exchanges };
}

/** The registry the settings ask for: in memory, or cluster mode's on `cluster`'s parts. */
export function createSessionRegistry(config: AppConfig, cluster: Cluster | null): SessionRegistry {
  if (!config.cluster || !cluster) return new InMemorySessionRegistry();
  const registry = new ClusterSessionRegistry(cluster, {
    leaseMs: config.cluster.leaseMs,
    maxRelayedCalls: CLUSTER_LIMITS.maxRelayedCalls,
  });
  registry.departures$.subscribe((replica) => cluster.exchanges.replicaGone(replica));
  return registry;
}

/** The exchange relay of cluster mode; null in memory (every tunnel is local). */
export function exchangeRelayOf(cluster: Cluster | null): ExchangeRelay | null {
  return cluster?.exchanges ?? null;
}
