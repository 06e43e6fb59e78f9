import { startGateway, type RunningGateway } from './gateway.js';
import { eventually } from './wait.js';

/** The secret the test replicas share. */
export const TEST_CLUSTER_SECRET = 'test-cluster-secret-0123456789abcdef';

/** Starts a gateway replica in cluster mode on `redisUrl`, with a short lease so that the tests see deaths quickly. */
export async function startReplica(redisUrl: string, replicaId: string, env: Record<string, string> = {}): Promise<RunningGateway> {
  const gateway = await startGateway({
    REDIS_URL: redisUrl,
    CLUSTER_SECRET: TEST_CLUSTER_SECRET,
    CLUSTER_PREFIX: `test-${process.pid}:`,
    CLUSTER_LEASE_MS: '1500',
    REPLICA_ID: replicaId,
    ...env,
  });
  await eventually(async () => (await fetch(`${gateway.httpUrl}/ready`)).status === 200, `replica ${replicaId} ready`);
  return gateway;
}
