/**
 * A rolling restart as the real CLI sees it: the gateway it is on shuts down (app.close(), as on
 * SIGTERM), closes its tunnels with 1012, and the client comes straight back through the ingress,
 * which already sends new connections to another replica. The client's backoff base is 30 s, so
 * only the skip makes the reconnect fast; the log says which way the client took.
 */
import { FakeTunnel } from '../support/fake-tunnel.js';
import { startGateway, startGatewayProcess } from '../support/gateway.js';
import { CliProcess, FIXTURE_COMMAND, killAll, waitUntil } from './helpers/cli-process.js';
import { Forwarder } from './helpers/forwarder.js';

/** Far below any backoff delay a 30 s base draws, except a rare tiny one (the log assertions rule that out). */
const BACK_WITHIN_MS = 3000;

const registrations = (cli: CliProcess, name: string) => [...cli.stderr.matchAll(new RegExp(`registered as "${name}"`, 'g'))].length;

async function sessionNames(gw: { httpUrl: string }, token: string): Promise<string[]> {
  const res = await fetch(`${gw.httpUrl}/reverse-proxy/sessions`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { sessions: { name: string }[] }).sessions.map((s) => s.name);
}

test('a gateway shutdown closes tunnels with 1012, and the CLI reconnects and registers at the next replica without a backoff delay', async () => {
  const ingress = await Forwarder.start();
  const first = await startGateway();
  // Its own process, as a replica is.
  const next = await startGatewayProcess();
  let tunnel: FakeTunnel | undefined;
  try {
    ingress.target = first.port;
    // Both replicas share the secret, so the token holds at either.
    const token = first.mintToken('erin@example.com');
    const cli = new CliProcess([
      '--local-stdio',
      FIXTURE_COMMAND,
      '--gateway',
      ingress.url,
      '--token',
      token,
      '--name',
      'e2e-rolling',
      '--reconnect-delay',
      '30',
    ]);
    await cli.waitForLog(/registered as "e2e-rolling"/);
    // A raw tunnel on the same replica reads the close code itself.
    ({ tunnel } = await FakeTunnel.register(first.tunnelUrl, token, { name: 'e2e-rolling-raw', capabilities: {} }));

    ingress.target = next.port;
    const shutdownAt = Date.now();
    await first.close();
    expect(await tunnel.closed).toBe(1012);
    expect(tunnel.closeReason).toBe('gateway shutting down');

    await waitUntil(() => registrations(cli, 'e2e-rolling') === 2, 'the CLI registered at the next replica', 10_000);
    const backAfterMs = Date.now() - shutdownAt;
    expect(cli.stderr).toMatch(/gateway restarting \(code 1012: gateway shutting down\); reconnecting now \(attempt 1\)/);
    expect(cli.stderr).not.toMatch(/reconnecting in/);
    expect(backAfterMs).toBeLessThan(BACK_WITHIN_MS);
    expect(await sessionNames(next, token)).toContain('e2e-rolling');
    // The local server carried on: a reconnect does not restart it.
    expect(cli.serverPids).toHaveLength(1);
  } finally {
    tunnel?.ws.terminate();
    await killAll();
    await first.close();
    next.kill();
    await ingress.close();
  }
});
