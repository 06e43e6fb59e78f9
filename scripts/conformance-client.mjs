#!/usr/bin/env node
/**
 * The "client command" that `npm run conformance` gives the official suite's CLIENT scenarios
 * (`conformance client --command ...`). The suite starts a test MCP server, appends its URL and sets
 * MCP_CONFORMANCE_SCENARIO; this driver puts the real tunnel CLI in front of that server
 * (`--local-streamable-http <url>`), waits until it is registered on the running gateway
 * (CONFORMANCE_GATEWAY), and makes the calls the scenario expects as an MCP client of
 * `/servers/<name>/mcp`. So what the suite sees is the CLI acting as an MCP client; what it checks
 * (handshake, tool call, elicitation relay, SSE resumption) is the CLI's behaviour, end to end.
 *
 *   CONFORMANCE_GATEWAY=http://127.0.0.1:3000 MCP_CONFORMANCE_SCENARIO=tools_call \
 *     node scripts/conformance-client.mjs http://localhost:4000/mcp
 *
 * Exit 0 (and DRIVER_OK on stdout) when the scenario's calls got the answers expected, 1 otherwise,
 * 2 for a scenario that does not apply. The CLI's output is copied to stderr (the suite keeps both
 * per scenario).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { CLIENT_ACTIONS, DRIVER_OK } from './conformance-client-scenarios.mjs';

const root = resolve(import.meta.dirname, '..');
/** How long the CLI may take to register, and to stop once asked. */
const LIMITS = { registerMs: 15_000, stopMs: 5_000 };

/** A gateway server name for a scenario (names allow letters, digits, `.`, `_`, `-`). */
const serverNameFor = (scenario) => `client-${scenario.replace(/[^A-Za-z0-9._-]/g, '-')}`;

/** Starts the tunnel CLI in front of the suite's server; resolves once it is registered. */
function startTunnel(gateway, serverUrl, name) {
  const cli = spawn(process.execPath, ['dist/client/cli.js', '--local-streamable-http', serverUrl, '--gateway', gateway, '--name', name], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const registered = new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error('the tunnel CLI did not register in time')), LIMITS.registerMs);
    const watch = (chunk) => {
      output += chunk;
      process.stderr.write(chunk);
      if (output.includes(`registered as "${name}"`)) {
        clearTimeout(timer);
        done();
      }
    };
    cli.stdout.setEncoding('utf8').on('data', watch);
    cli.stderr.setEncoding('utf8').on('data', watch);
    cli.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`the tunnel CLI exited (${signal ?? code}) before registering`));
    });
  });
  return { cli, registered };
}

/** SIGTERM (the CLI unregisters and ends its local session), SIGKILL if it lingers. */
async function stopTunnel(cli) {
  if (cli.exitCode !== null || cli.signalCode !== null) return;
  const exited = new Promise((done) => cli.once('exit', done));
  cli.kill('SIGTERM');
  const timer = setTimeout(() => cli.kill('SIGKILL'), LIMITS.stopMs);
  await exited;
  clearTimeout(timer);
}

/** An MCP client of the gateway that answers elicitation by accepting with nothing filled in (so defaults apply). */
async function connectClient(gateway, name) {
  const client = new Client(
    { name: 'conformance-client-driver', version: '1.0.0' },
    { capabilities: { elicitation: { form: { applyDefaults: true } } } },
  );
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: {} }));
  await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway}/servers/${name}/mcp`)));
  return client;
}

async function main() {
  const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
  const gateway = process.env.CONFORMANCE_GATEWAY;
  const serverUrl = process.argv[2];
  const act = Object.hasOwn(CLIENT_ACTIONS, scenario) ? CLIENT_ACTIONS[scenario] : undefined;
  if (!act) {
    console.error(`conformance-client: scenario "${scenario}" does not apply to the tunnel CLI`);
    return 2;
  }
  if (!gateway || !serverUrl) {
    console.error('usage: CONFORMANCE_GATEWAY=<gateway url> MCP_CONFORMANCE_SCENARIO=<scenario> conformance-client.mjs <server url>');
    return 2;
  }
  const name = serverNameFor(scenario);
  const { cli, registered } = startTunnel(gateway, serverUrl, name);
  let client;
  try {
    await registered;
    client = await connectClient(gateway, name);
    const problem = await act(client);
    if (problem) {
      console.error(`conformance-client: ${scenario}: ${problem}`);
      return 1;
    }
    console.log(DRIVER_OK);
    return 0;
  } catch (err) {
    console.error(`conformance-client: ${scenario}: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  } finally {
    await client?.close().catch(() => undefined);
    await stopTunnel(cli);
  }
}

process.exitCode = await main();
