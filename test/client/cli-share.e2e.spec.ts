/**
 * `--share` and a config file's `share:` on the real CLI (dist/, built first) against the real
 * gateway: the rules reach the session (GET .../access), the audit records them, and the doors
 * follow them (a named user and a group member call a tool, another user is refused).
 */
import 'reflect-metadata';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { GatewayLogger } from '../../src/common/gateway-logger.js';
import { startGateway, TEST_SECRET, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { connectStreamable, textOf } from '../support/mcp-clients.js';
import { eventually } from '../support/wait.js';
import { CliProcess, FIXTURE_COMMAND, killAll } from './helpers/cli-process.js';

const lines: string[] = [];
let gw: RunningGateway;
const sign = (claims: Record<string, unknown>) => jwt.sign(claims, TEST_SECRET, { algorithm: 'HS256', expiresIn: '1h' });
const alice = sign({ sub: 'alice@example.com' });
const bob = sign({ sub: 'bob@example.com' });
const carol = sign({ sub: 'carol@example.com', groups: ['eng'] });
const dave = sign({ sub: 'dave@example.com', groups: ['sales'] });

beforeAll(async () => {
  const logger = new GatewayLogger({ format: 'json', level: 'info', write: (_stream, line) => void lines.push(line) });
  gw = await startGateway({ LOG_LEVEL: 'info' }, { logger });
});
afterAll(async () => {
  await killAll();
  await gw?.close();
});

/** The session the owner sees under `name`, once registered. */
async function sessionNamed(name: string): Promise<string> {
  return eventually(async () => {
    const { body } = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions`, { token: alice });
    return (body.sessions as { session_id: string; name: string; state: string }[]).find((s) => s.name === name && s.state === 'ready')
      ?.session_id;
  }, `"${name}" to be ready`);
}

async function callEcho(name: string, token: string): Promise<string> {
  const { client } = await connectStreamable(gw.httpUrl, name, token);
  try {
    return textOf(await client.callTool({ name: 'echo', arguments: { text: 'shared' } }));
  } finally {
    await client.close();
  }
}

test('--share sets the rules of the session the CLI registers, and every door follows them', async () => {
  const cli = new CliProcess(
    ['--local-stdio', FIXTURE_COMMAND, '--gateway', gw.wsUrl, '--name', 'cli-shared', '--share', 'bob@example.com, group:eng'],
    { MCP_TUNNEL_TOKEN: alice },
  );
  await cli.waitForLog(/registered as "cli-shared" \(share: bob@example\.com,group:eng\)/, 20_000);
  const sessionId = await sessionNamed('cli-shared');
  const access = await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/access`, { token: alice });
  expect(access.body).toMatchObject({ owner: 'alice@example.com', users: ['bob@example.com'], groups: ['eng'], everyone: false });

  expect(await callEcho('cli-shared', bob)).toBe('shared');
  expect(await callEcho('cli-shared', carol)).toBe('shared');
  await expect(connectStreamable(gw.httpUrl, 'cli-shared', dave)).rejects.toMatchObject({ code: 403 });
  const servers = (await http('GET', `${gw.httpUrl}/servers`, { token: bob })).body.servers as { name: string; role: string }[];
  expect(servers.find((s) => s.name === 'cli-shared')?.role).toBe('user');

  const entries = lines.map((l) => (JSON.parse(l) as { message: Record<string, unknown> }).message);
  expect(entries).toContainEqual(
    expect.objectContaining({
      msg: 'access rules changed',
      by: 'alice@example.com',
      session: sessionId,
      server: 'cli-shared',
      rules: { users: ['bob@example.com'], groups: ['eng'], everyone: false },
      via: 'register',
    }),
  );
  for (const token of [alice, bob, carol, dave]) expect(lines.join('\n').includes(token.split('.')[2])).toBe(false);
}, 40_000);

test("a config file's share: (a list) works the same; without one a server is only its owner's", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'share-'));
  const file = join(dir, 'tunnel.yaml');
  writeFileSync(
    file,
    [
      `gateway: ${gw.wsUrl}`,
      'servers:',
      `  - name: file-shared`,
      `    command: ${JSON.stringify(FIXTURE_COMMAND)}`,
      '    share: ["*"]',
      `  - name: file-private`,
      `    command: ${JSON.stringify(FIXTURE_COMMAND)}`,
    ].join('\n'),
  );
  const cli = new CliProcess(['--config', file], { MCP_TUNNEL_TOKEN: alice });
  await cli.waitForLog(/registered as "file-shared" \(share: \*\)/, 20_000);
  await cli.waitForLog(/registered as "file-private"/, 20_000);
  await sessionNamed('file-shared');
  await sessionNamed('file-private');
  expect(await callEcho('file-shared', dave)).toBe('shared');
  await expect(connectStreamable(gw.httpUrl, 'file-private', dave)).rejects.toMatchObject({ code: 403 });
}, 40_000);

test('a malformed --share is refused before connecting, with the problem named', async () => {
  const cli = new CliProcess(['--local-stdio', FIXTURE_COMMAND, '--gateway', gw.wsUrl, '--share', 'group:'], { MCP_TUNNEL_TOKEN: alice });
  const { code } = await cli.waitForExit();
  expect(code).not.toBe(0);
  expect(cli.stderr).toMatch(/Invalid share \(--share\): groups\[0\] must be 1 to 256 characters/);
});
