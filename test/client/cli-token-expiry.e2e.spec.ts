/**
 * The real CLI (dist/client/cli.js) and a real gateway: a token that expires (docs/protocol.md,
 * "Token expiry") and the caller's identity and token on the way to the local server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CALLER_META_KEY } from '../../src/protocol/envelopes.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { http } from '../support/http.js';
import { connectStreamable, textOf } from '../support/mcp-clients.js';
import { CliProcess, FIXTURE_COMMAND, killAll } from './helpers/cli-process.js';

let gw: RunningGateway;
let dir: string;
let tokenFile: string;

beforeAll(async () => {
  // Warned at most 2 s before exp (or half the token's remaining life).
  gw = await startGateway({ TUNNEL_TOKEN_WARN_MS: '2000' });
});
afterAll(() => gw.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mcp-tunnel-token-'));
  tokenFile = join(dir, 'token');
});
afterEach(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

const expOf = (token: string): number => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp * 1000;
const until = (at: number): Promise<void> => new Promise((done) => setTimeout(done, Math.max(0, at - Date.now())));

const echo = (sessionId: string, text: string) =>
  http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
    token: gw.mintToken('alice'),
    body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text } } },
  });

test("a rotated --token-file keeps the tunnel, with the same session, past the first token's exp", async () => {
  const first = gw.mintToken('alice', { expiresIn: 8 });
  writeFileSync(tokenFile, first);
  const cli = new CliProcess(['--gateway', gw.httpUrl, '--token-file', tokenFile, '--local-stdio', FIXTURE_COMMAND, '--name', 'rotating']);
  const [, sessionId] = await cli.waitForLog(/connected as session ([0-9a-f]+)/);
  // The rotation a token agent would do: the file now holds a token that lasts longer.
  writeFileSync(tokenFile, gw.mintToken('alice', { expiresIn: 3600 }));
  await cli.waitForLog(/the token expires in .*; sending the fresh one from/);
  await cli.waitForLog(/the gateway took the fresh token; the tunnel now lasts until/);

  await until(expOf(first) + 1000);
  expect(cli.hasExited).toBe(false);
  const answer = await echo(sessionId, 'still here');
  expect(answer.status).toBe(200);
  expect(answer.body.result.content[0].text).toBe('still here');
  expect(cli.stderr).not.toMatch(/disconnected|reconnecting|resum/);
  // The token is never printed.
  expect(cli.stderr).not.toContain(first.split('.')[2]);
});

test('without a fresh token the CLI is warned, then the gateway closes the tunnel at exp and the CLI exits saying why', async () => {
  const short = gw.mintToken('alice', { expiresIn: 6 });
  writeFileSync(tokenFile, short);
  const cli = new CliProcess(['--gateway', gw.httpUrl, '--token-file', tokenFile, '--local-stdio', FIXTURE_COMMAND, '--name', 'expiring']);
  const [, sessionId] = await cli.waitForLog(/connected as session ([0-9a-f]+)/);
  await cli.waitForLog(
    /the token expires in .* and then the gateway closes the tunnel: no fresh token is available; write a fresh token to /,
  );
  expect((await cli.waitForExit()).code).toBe(1);
  expect(Date.now()).toBeGreaterThanOrEqual(expOf(short));
  expect(cli.stderr).toMatch(/the gateway closed the tunnel: its token expired and no fresh one was found in /);
  expect((await http('GET', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}`, { token: gw.mintToken('alice') })).status).toBe(404);
});

describe('an HTTP local server behind the CLI', () => {
  let server: ChildProcess;
  let port: number;
  let record: string;

  beforeEach(async () => {
    record = join(dir, 'received.jsonl');
    server = spawn(process.execPath, [resolve(process.cwd(), 'test/fixtures/http-mcp-server.mjs'), '--record', record], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    port = await new Promise<number>((done, fail) => {
      server.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        const match = chunk.match(/listening (\d+)/);
        if (match) done(Number(match[1]));
      });
      server.once('exit', (code) => fail(new Error(`the HTTP fixture exited with ${code}`)));
    });
  });
  afterEach(async () => {
    const exited = new Promise((done) => server.once('exit', done));
    server.kill();
    await exited;
  });

  test('never receives a caller token (nor the tunnel token); with --forward-identity it gets the verified caller', async () => {
    const tunnelToken = gw.mintToken('alice', { expiresIn: 3600 });
    writeFileSync(tokenFile, tunnelToken);
    const cli = new CliProcess([
      '--gateway',
      gw.httpUrl,
      '--token-file',
      tokenFile,
      '--local-streamable-http',
      `http://127.0.0.1:${port}/mcp`,
      '--name',
      'recorded',
      '--forward-identity',
    ]);
    const [, sessionId] = await cli.waitForLog(/connected as session ([0-9a-f]+)/);
    // Distinct tokens (another exp each), so each one's string can be looked for.
    const restToken = gw.mintToken('alice', { expiresIn: 3601 });
    const rest = await http('POST', `${gw.httpUrl}/reverse-proxy/sessions/${sessionId}/request`, {
      token: restToken,
      body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'via rest' } } },
    });
    expect(rest.body.result.content[0].text).toBe('via rest');
    const mcpToken = gw.mintToken('alice', { expiresIn: 3602 });
    const { client } = await connectStreamable(gw.httpUrl, 'recorded', mcpToken);
    try {
      expect(textOf(await client.callTool({ name: 'echo', arguments: { text: 'via mcp' } }))).toBe('via mcp');
    } finally {
      await client.close();
    }

    const received = readFileSync(record, 'utf8');
    const lines = received
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const calls = lines.filter((line) => line.body?.includes('"tools/call"')).map((line) => JSON.parse(line.body));
    expect(calls.map((call) => call.params.arguments.text)).toEqual(['via rest', 'via mcp']);
    for (const call of calls) expect(call.params._meta[CALLER_META_KEY]).toEqual({ user: 'alice', groups: [], via: 'jwt' });
    for (const token of [restToken, mcpToken, tunnelToken]) {
      expect(received).not.toContain(token);
      // Nor its signature alone (a token split or re-encoded on the way).
      expect(received).not.toContain(token.split('.')[2]);
    }
    expect(lines.filter((line) => line.headers.authorization !== undefined)).toEqual([]);
  });
});
