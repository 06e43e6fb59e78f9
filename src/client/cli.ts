#!/usr/bin/env node
/**
 * mcp-tunnel: puts local MCP servers behind an MCP gateway over one outbound WebSocket.
 *
 * Exit codes: 0 after a signal-initiated shutdown (and for the usage printed with no arguments); 1
 * when the first connection fails, the gateway refuses (token, name) or retries run out; 2 for usage
 * and config errors; the local server's own exit code (or 127 when its command does not exist) when
 * it cannot be kept running.
 */
import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { ConfigError, DEFAULTS, ENV, resolveConfig, type CliValues } from './config.js';
import { readConfigFile, readTokenFile } from './config-file.js';
import { killAllChildrenNow } from './local-stdio-server.js';
import { Logger, LOG_LEVELS } from './logger.js';
import { TunnelClient } from './tunnel-client.js';

const EXIT_USAGE = 2;

/** Shown after --help, and with the usage when mcp-tunnel runs without arguments. */
const EXAMPLES = `
Examples:
  # the token from the environment (a --token value is visible to every user in ps)
  export ${ENV.token}="$(cat ~/.config/mcp-tunnel/token)"
  mcp-tunnel --gateway https://gateway.example.com --local-stdio "npx -y @modelcontextprotocol/server-everything"

  # the token from a file; a local server that speaks Streamable HTTP, under a name of your choosing
  mcp-tunnel --gateway http://localhost:3000 --token-file ~/.config/mcp-tunnel/token \\
    --local-streamable-http http://127.0.0.1:8080/mcp --name crm
`;

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function buildProgram(version: string): Command {
  return new Command('mcp-tunnel')
    .description('Share a local MCP server through an MCP gateway over one outbound WebSocket.')
    .version(version, '-V, --version')
    .helpOption('-h, --help')
    .addOption(new Option('--local-stdio <command>', 'run this command as a stdio MCP server (split like a shell would, not run by one)'))
    .addOption(new Option('--local-streamable-http <url>', 'tunnel a local server that speaks Streamable HTTP'))
    .addOption(new Option('--local-sse <url>', 'tunnel a local server that speaks the SSE transport'))
    .addOption(new Option('--gateway <url>', `gateway URL: http(s) or ws(s), with or without a path prefix [env ${ENV.gateway}]`))
    .addOption(
      new Option('--token <jwt>', `bearer token for the gateway; visible in ps: prefer --token-file or ${ENV.token} [env ${ENV.token}]`),
    )
    .addOption(
      new Option(
        '--token-file <file>',
        'read the bearer token from this file (read again before expiry and on reconnects: rotating it just works)',
      ),
    )
    .addOption(new Option('--name <name>', "server name at the gateway (default: the server's serverInfo.name)"))
    .addOption(new Option('--server-name <name>', 'alias of --name'))
    .addOption(new Option('--server-description <text>', 'description shown by the gateway'))
    .addOption(
      new Option(
        '--share <who>',
        'who besides you may use the server: users (alice@example.com), groups (group:eng), or * for every signed-in user; comma-separated (default: only you)',
      ),
    )
    .addOption(
      new Option(
        '--forward-identity',
        'give the local server the verified caller (user, groups) in each request\'s _meta["io.mcp-gateway/caller"]; never the token',
      ),
    )
    .addOption(new Option('--ca <file>', "also trust this CA (PEM) for the gateway's certificate"))
    .addOption(new Option('--insecure', "do not check the gateway's TLS certificate (unsafe; prints a warning)"))
    .addOption(
      new Option(
        '--reconnect-delay <seconds>',
        `base delay of the reconnect backoff (default ${DEFAULTS.reconnectDelay}) [env ${ENV.reconnectDelay}]`,
      ),
    )
    .addOption(
      new Option(
        '--max-retries <n>',
        `consecutive reconnect attempts before giving up, 0 = forever (default ${DEFAULTS.maxRetries}) [env ${ENV.maxRetries}]`,
      ),
    )
    .addOption(
      new Option(
        '--retry-forever',
        'keep retrying when the first connection to the gateway fails (e.g. a service started before the gateway); by default it exits with a hint',
      ),
    )
    .addOption(
      new Option(
        '--keepalive <seconds>',
        `heartbeat interval; the gateway is dropped after two silent ones (default ${DEFAULTS.keepalive})`,
      ),
    )
    .addOption(
      new Option(
        '--request-timeout <seconds>',
        "answer a relayed request with an error when the local server takes longer (default: the gateway's timeout applies)",
      ),
    )
    .addOption(
      new Option(
        '--startup-timeout <seconds>',
        `how long the local server has to answer initialize, downloads by npx included (default ${DEFAULTS.startupTimeout})`,
      ),
    )
    .addOption(new Option('--max-restarts <n>', `local server crashes in a row before giving up (default ${DEFAULTS.maxRestarts})`))
    .addOption(new Option('--max-buffered <n>', `messages kept while the gateway is unreachable (default ${DEFAULTS.maxBuffered})`))
    .addOption(new Option('--no-resume', 'do not ask the gateway for resumable sessions: a dropped connection ends the session'))
    .addOption(
      new Option(
        '--resume-buffer <bytes>',
        `bytes of sent messages kept until the gateway acknowledges them, for a resume (default ${DEFAULTS.resumeBuffer})`,
      ),
    )
    .addOption(new Option('--config <file>', 'YAML or JSON config file (command line and environment take precedence)'))
    .addOption(
      new Option('--log-level <level>', `how much to print (default ${DEFAULTS.logLevel}) [env ${ENV.logLevel}]`).choices(LOG_LEVELS),
    )
    .addOption(new Option('-v, --verbose', 'same as --log-level debug: show the traffic (tokens redacted)'))
    .addHelpText('after', EXAMPLES)
    .allowExcessArguments(true)
    .showHelpAfterError('(run mcp-tunnel --help for the options)')
    .configureOutput({ writeErr: (text) => process.stderr.write(text) })
    .exitOverride((err) => {
      // --help and --version exit 0; usage errors get the usage exit code.
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    });
}

async function main(argv: string[]): Promise<number> {
  const version = packageVersion();
  const program = buildProgram(version);
  if (argv.length <= 2) {
    // Nothing to tunnel without a local server (flags or --config): show how, rather than an error.
    program.outputHelp();
    return 0;
  }
  program.parse(argv);
  if (program.args.length > 0) {
    process.stderr.write(`mcp-tunnel: unexpected argument "${program.args[0]}" (quote the command: --local-stdio "npx -y some-server")\n`);
    return EXIT_USAGE;
  }
  const cli = program.opts<CliValues>();

  let config;
  try {
    config = resolveConfig(cli, process.env, cli.config ? readConfigFile(cli.config) : {}, readTokenFile);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`mcp-tunnel: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }

  const tokens = config.tunnels.map((t) => t.token).filter((t): t is string => typeof t === 'string');
  const logger = new Logger({ level: config.logLevel, secrets: tokens });
  const several = config.tunnels.length > 1;
  if (config.tunnels.some((t) => t.insecure)) {
    logger.warn("--insecure: the gateway's TLS certificate is NOT checked; anyone on the path can read the tunnel");
  }
  if (config.tunnels.some((t) => !t.token)) logger.warn(`no token given (${ENV.token} or --token-file); the gateway will likely refuse`);

  let tunnels: TunnelClient[];
  try {
    tunnels = config.tunnels.map((options, i) => {
      const name = options.name ?? `server-${i + 1}`;
      return new TunnelClient(options, {
        logger: several ? logger.child(name) : logger,
        version,
        stderr: several ? (line) => process.stderr.write(`[${name}] ${line}\n`) : undefined,
        print: several ? (line) => process.stderr.write(`[${name}] ${line}\n`) : undefined,
      });
    });
  } catch (err) {
    process.stderr.write(`mcp-tunnel: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      // A second Ctrl-C: the user does not want to wait for the graceful path.
      logger.warn(`${signal} again: killing the local server${several ? 's' : ''} now`);
      killAllChildrenNow();
      process.exit(130);
    }
    logger.info(`${signal} received; shutting down`);
    for (const tunnel of tunnels) void tunnel.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Last resort for paths that skip the graceful shutdown (uncaught errors): no orphans.
  process.on('exit', killAllChildrenNow);

  const codes = await Promise.all(tunnels.map((tunnel) => tunnel.run()));
  // With several tunnels the first failure decides; a clean shutdown is 0.
  return codes.find((code) => code !== 0) ?? 0;
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
    // Everything is closed by now; this only guards against a handle someone forgot.
    setTimeout(() => process.exit(code), 1000).unref();
  },
  (err: unknown) => {
    process.stderr.write(`mcp-tunnel: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    killAllChildrenNow();
    process.exit(1);
  },
);
