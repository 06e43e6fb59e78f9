/**
 * The first five minutes with the real CLI against the real gateway: the MCP URL it prints works
 * for an MCP client (the official SDK), a reconnect gets one line; the usual mistakes (port,
 * scheme, path, token, a local command that is not an MCP server) end the run at once with a
 * hint; the token never has to be on the command line; no arguments prints the usage.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startGateway, type RunningGateway } from '../support/gateway.js';
import { textOf } from '../support/mcp-clients.js';
import { CliProcess, FIXTURE_COMMAND, isAlive, killAll, waitUntil } from './helpers/cli-process.js';

let gw: RunningGateway;
let token: string;
let dir: string;
beforeAll(async () => {
  gw = await startGateway();
  token = gw.mintToken('alice@example.com');
  dir = mkdtempSync(join(tmpdir(), 'mcp-tunnel-first-run-'));
});
afterAll(async () => {
  await gw.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => killAll());

/** The CLI with the token in MCP_TUNNEL_TOKEN, as the README says to. */
function run(args: string[], env: Record<string, string | undefined> = { MCP_TUNNEL_TOKEN: token }): CliProcess {
  return new CliProcess(['--reconnect-delay', '0.05', ...args], env);
}

test('prints the MCP URL the gateway reported, which an MCP client can use, and snippets once; a reconnect gets one line', async () => {
  const cli = run(['--gateway', gw.httpUrl, '--local-stdio', FIXTURE_COMMAND, '--name', 'first-run']);
  const [, url] = await cli.waitForLog(/"first-run" is online; MCP clients connect to\n {2}(\S+)\n/);
  expect(url).toBe(`${gw.httpUrl}/servers/first-run/mcp`);
  await cli.waitForLog(/mcp\.json \/ \.vscode\/mcp\.json:\n {4}(\{.*\})\n/);
  expect(cli.stderr).toContain(`npx @modelcontextprotocol/inspector --cli ${url} --transport http`);
  const claude = JSON.parse(/through mcp-remote\):\n {4}(\{.*\})\n/.exec(cli.stderr)![1]);
  expect(claude.mcpServers['first-run'].args).toEqual(['-y', 'mcp-remote', url, '--header', 'Authorization:${GATEWAY_AUTH}']);
  const vscode = JSON.parse(/mcp\.json:\n {4}(\{.*\})\n/.exec(cli.stderr)![1]);
  expect(vscode.servers['first-run']).toMatchObject({ type: 'http', url });
  // The tunnel's own token is never printed.
  expect(cli.stderr).not.toContain(token);

  // The printed URL is the one MCP clients use.
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'first-run-test', version: '1.0.0' });
  await client.connect(transport);
  expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'through the printed URL' } }))).toBe('through the printed URL');
  await client.close();

  // The gateway drops the tunnel (an admin disconnects it): it registers again, and says so in one line.
  const [, sessionId] = /connected as session (\S+)/.exec(cli.stderr)!;
  const admin = gw.mintToken('root@example.com', { admin: true });
  const res = await fetch(`${gw.httpUrl}/reverse-proxy/sessions/${sessionId}`, {
    method: 'DELETE',
    headers: { Authorization: `Bearer ${admin}` },
  });
  expect(res.status).toBe(200);
  await cli.waitForLog(new RegExp(`"first-run" is back online at ${url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  expect(cli.stderr.match(/is online; MCP clients connect to/g)).toHaveLength(1);
  expect(cli.stderr.match(/MCP Inspector:/g)).toHaveLength(1);
});

test('the token from --token-file, and from MCP_TUNNEL_TOKEN: both register', async () => {
  const file = join(dir, 'token');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  const fromFile = run(['--gateway', gw.httpUrl, '--local-stdio', FIXTURE_COMMAND, '--name', 'from-file', '--token-file', file], {});
  await fromFile.waitForLog(/registered as "from-file"/);
  const fromEnv = run(['--gateway', gw.httpUrl, '--local-stdio', FIXTURE_COMMAND, '--name', 'from-env']);
  await fromEnv.waitForLog(/registered as "from-env"/);
  expect(fromFile.stderr + fromEnv.stderr).not.toMatch(/no token given/);

  const missing = run(['--gateway', gw.httpUrl, '--local-stdio', FIXTURE_COMMAND, '--token-file', join(dir, 'nope')], {});
  expect((await missing.waitForExit()).code).toBe(2);
  expect(missing.stderr).toContain(`mcp-tunnel: Cannot read the token file ${join(dir, 'nope')}: ENOENT`);
});

/** A first connection that fails ends the run with one line naming the mistake, before the local server is started. */
async function expectHint(args: string[], hint: RegExp, code = 1, env?: Record<string, string | undefined>): Promise<CliProcess> {
  const cli = run(['--local-stdio', FIXTURE_COMMAND, ...args], env);
  const exit = await cli.waitForExit();
  expect(exit.code).toBe(code);
  expect(cli.stderr).toMatch(hint);
  expect(cli.serverPids).toEqual([]);
  expect(cli.stderr).not.toMatch(/reconnecting/);
  return cli;
}

test('nothing listening on the port: exits 1 with a hint, without starting the local server', async () => {
  const port = await freePort();
  await expectHint(
    ['--gateway', `http://127.0.0.1:${port}`],
    /nothing accepts connections at 127\.0\.0\.1:\d+; is the gateway running, and on that port\?/,
  );
});

test('wss:// against a plain-HTTP gateway: names the scheme', async () => {
  await expectHint(
    ['--gateway', `wss://127.0.0.1:${gw.port}`],
    /the gateway does not speak TLS on that port; use http:\/\/127\.0\.0\.1:\d+ \(http:\/\/, not https:\/\/\)/,
  );
});

test("a server's MCP URL given as the gateway: names the gateway's URL instead", async () => {
  const cli = await expectHint(
    ['--gateway', `${gw.httpUrl}/servers/notes/mcp`],
    /HTTP 404.*--gateway was given a server's MCP URL; give the gateway's own URL, http:\/\/127\.0\.0\.1:\d+$/m,
  );
  expect(cli.stderr).toContain(`give the gateway's own URL, ${gw.httpUrl}\n`);
});

test('another wrong path: 404, and what --gateway takes', async () => {
  await expectHint(
    ['--gateway', `${gw.httpUrl}/some/prefix`],
    /HTTP 404.*no tunnel endpoint there; --gateway takes the gateway's base URL/,
  );
});

test('no scheme: a usage error (exit 2) naming the URL to use', async () => {
  await expectHint(['--gateway', `127.0.0.1:${gw.port}`], new RegExp(`has no scheme: use http://127\\.0\\.0\\.1:${gw.port}`), 2);
});

test('an expired token: 401 on the first connection, one line, exit 1', async () => {
  const expired = gw.mintToken('alice@example.com', { expiresIn: -60 });
  const cli = await expectHint(['--gateway', gw.httpUrl], /the gateway refused the connection \(HTTP 401: .+\); check the token/, 1, {
    MCP_TUNNEL_TOKEN: expired,
  });
  expect(
    cli.stderr
      .trim()
      .split('\n')
      .filter((line) => /ERROR/.test(line)),
  ).toHaveLength(1);
});

test('--retry-forever keeps trying a gateway that is not there yet, with the hint in each line', async () => {
  const port = await freePort();
  const cli = run(['--gateway', `http://127.0.0.1:${port}`, '--local-stdio', FIXTURE_COMMAND, '--retry-forever']);
  await cli.waitForLog(/nothing accepts connections[^\n]*; reconnecting in \d+\.\d s \(attempt 2\)/);
  expect(cli.hasExited).toBe(false);
  expect(cli.serverPids).toEqual([]);
});

test('a local command that echoes its input (cat) is reported once, and the client exits at once', async () => {
  const cli = run(['--gateway', gw.httpUrl, '--local-stdio', 'cat']);
  const { code } = await cli.waitForExit();
  expect(code).toBe(1);
  expect(cli.stderr.match(/ERROR/g)).toHaveLength(1);
  expect(cli.stderr).toMatch(
    /ERROR the local server sent our initialize request back instead of answering it: it does not speak MCP on stdio \(is the command right\?\); giving up/,
  );
  expect(cli.serverPids).toHaveLength(1);
  await waitUntil(() => !isAlive(cli.serverPids[0]), 'cat is gone');
});

test('a local server that exits at once is tried once more, then reported once with its stderr, with its exit code', async () => {
  const cli = run(['--gateway', gw.httpUrl, '--local-stdio', `node -e "console.error('missing API key'); process.exit(3)"`]);
  expect((await cli.waitForExit()).code).toBe(3);
  expect(cli.serverPids).toHaveLength(2);
  expect(cli.stderr).toMatch(/WARN the local server exited with code 3 before completing the MCP handshake; trying once more in \d+\.\d s/);
  expect(cli.stderr).toMatch(/ERROR the local server exited with code 3 \(2 times in a row\); giving up/);
  expect(cli.stderr.match(/ERROR/g)).toHaveLength(2); // the line, and the stderr tail under it
  expect(cli.stderr).toMatch(/last lines it wrote to stderr:\n\s+missing API key/);
});

test('no arguments: the usage with examples, exit 0', async () => {
  const cli = new CliProcess([]);
  expect((await cli.waitForExit()).code).toBe(0);
  expect(cli.stdout).toMatch(/^Usage: mcp-tunnel \[options\]/);
  expect(cli.stdout).toContain('Examples:');
  expect(cli.stdout).toContain('export MCP_TUNNEL_TOKEN=');
  expect(cli.stdout).toContain('--token-file');
  expect(cli.stderr).toBe('');
});
