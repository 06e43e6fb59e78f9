import { startGateway, startGatewayProcess, type GatewayProcess, type RunningGateway } from './gateway.js';
import { eventually } from './wait.js';

/** The secret the test replicas share. */
export const TEST_CLUSTER_SECRET = 'test-cluster-secret-0123456789abcdef';

/** A replica's cluster settings: a short lease, so that the tests see deaths quickly; `env` overrides them. */
function replicaEnv(redisUrl: string, replicaId: string, env: Record<string, string>): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    CLUSTER_SECRET: TEST_CLUSTER_SECRET,
    CLUSTER_PREFIX: `test-${process.pid}:`,
    CLUSTER_LEASE_MS: '1500',
    REPLICA_ID: replicaId,
    ...env,
  };
}

/** Whether the replica answers its readiness probe with 200 (it holds a lease). */
async function isReady(httpUrl: string): Promise<boolean> {
  return (await fetch(`${httpUrl}/ready`)).status === 200;
}

/** Starts a gateway replica in cluster mode on `redisUrl`, in this process, and resolves once it is ready. */
export async function startReplica(redisUrl: string, replicaId: string, env: Record<string, string> = {}): Promise<RunningGateway> {
  const gateway = await startGateway(replicaEnv(redisUrl, replicaId, env));
  await eventually(() => isReady(gateway.httpUrl), `replica ${replicaId} ready`);
  return gateway;
}

/**
 * Starts a replica as its own process (dist/main.js), for tests that kill or stop one, and resolves
 * once it is ready. `env` overrides the cluster settings (CLUSTER_PREFIX, ...).
 */
export async function startReplicaProcess(redisUrl: string, replicaId: string, env: Record<string, string> = {}): Promise<GatewayProcess> {
  const gateway = await startGatewayProcess(replicaEnv(redisUrl, replicaId, env));
  try {
    await eventually(() => isReady(gateway.httpUrl), `replica ${replicaId} ready`, 10_000);
  } catch (err) {
    gateway.kill();
    throw new Error(`${(err as Error).message}\n${gateway.output}`, { cause: err });
  }
  return gateway;
}
