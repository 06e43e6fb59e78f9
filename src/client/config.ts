/**
 * Resolves what the tunnel client should do from its three sources, in this order of precedence:
 * command line > environment > config file > defaults (per setting, so a file can hold the
 * defaults a team shares and a flag still wins). Pure: the caller reads files and the environment.
 */
import { SERVER_INFO_LIMITS, SERVER_NAME_PATTERN } from '../protocol/envelopes.js';
import { isObject } from '../protocol/json-rpc.js';
import { parseShareText, type ShareRules } from '../protocol/share.js';
import { splitCommandLine, CommandLineError } from './command-line.js';
import { tunnelUrl, GatewayUrlError } from './gateway-url.js';
import { isLogLevel, LOG_LEVELS, type LogLevel } from './logger.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The local MCP server a tunnel exposes. */
export type LocalTarget =
  | { kind: 'stdio'; command: string; args: string[]; env?: Record<string, string>; cwd?: string }
  | { kind: 'streamable-http'; url: string }
  | { kind: 'sse'; url: string };

export interface TunnelOptions {
  /** The tunnel endpoint, derived from what the user gave. */
  gatewayUrl: URL;
  token?: string;
  /** The file the token came from (--token-file, `tokenFile`): read again before each connection and on `token_expiring`, so a rotated token is picked up. */
  tokenFile?: string;
  /** The local server gets the verified caller under `_meta["io.mcp-gateway/caller"]` of each request (--forward-identity). */
  forwardIdentity?: boolean;
  /** Name to register; undefined: the serverInfo.name the local server reports. */
  name?: string;
  description?: string;
  /** Who besides the owner may use the server (--share, `share:`); undefined: only the owner (and admins). */
  share?: ShareRules;
  local: LocalTarget;
  /** PEM text of an extra CA to trust for the gateway. */
  caFile?: string;
  insecure: boolean;
  reconnectDelayMs: number;
  /** Consecutive reconnect attempts before giving up; 0 = forever. */
  maxRetries: number;
  /** Retry even while no connection has ever succeeded (--retry-forever); otherwise the first failure ends the client with a hint. */
  retryForever: boolean;
  keepaliveMs: number;
  /** How long the local server has to answer initialize (includes e.g. `npx -y` downloading it). */
  startupTimeoutMs: number;
  /** Wait for the answer to a relayed request; undefined = leave timeouts to the gateway. */
  requestTimeoutMs?: number;
  /** Consecutive crashes of the local server before the client gives up. */
  maxRestarts: number;
  /** Messages from the local server kept while the gateway is unreachable (when the session is not resumable). */
  maxBuffered: number;
  /** Ask the gateway for resumable sessions (docs/protocol.md, "Resumption"); false: the base protocol only. */
  resume: boolean;
  /** Bytes of sent frames kept until the gateway acknowledges them, for a resume. */
  resumeBufferBytes: number;
}

export interface ResolvedConfig {
  logLevel: LogLevel;
  tunnels: TunnelOptions[];
}

/** Values from the command line, as commander hands them over (strings; undefined when absent). */
export interface CliValues {
  localStdio?: string;
  localStreamableHttp?: string;
  localSse?: string;
  gateway?: string;
  token?: string;
  tokenFile?: string;
  /** --forward-identity. */
  forwardIdentity?: boolean;
  retryForever?: boolean;
  name?: string;
  serverName?: string;
  serverDescription?: string;
  /** --share: `alice@example.com,group:eng`, `*` or `everyone`. */
  share?: string;
  ca?: string;
  insecure?: boolean;
  reconnectDelay?: string;
  maxRetries?: string;
  keepalive?: string;
  requestTimeout?: string;
  startupTimeout?: string;
  maxRestarts?: string;
  maxBuffered?: string;
  /** false with --no-resume (commander's default for a negated flag is true). */
  resume?: boolean;
  resumeBuffer?: string;
  logLevel?: string;
  verbose?: boolean;
  config?: string;
}

export const ENV = {
  gateway: 'REVERSE_PROXY_GATEWAY',
  /** The documented way to give the token (a --token value shows in `ps`). */
  token: 'MCP_TUNNEL_TOKEN',
  /** The older name, still read. */
  legacyToken: 'REVERSE_PROXY_TOKEN',
  reconnectDelay: 'REVERSE_PROXY_RECONNECT_DELAY',
  maxRetries: 'REVERSE_PROXY_MAX_RETRIES',
  logLevel: 'REVERSE_PROXY_LOG_LEVEL',
} as const;

export const DEFAULTS = {
  reconnectDelay: 1,
  maxRetries: 0,
  keepalive: 30,
  startupTimeout: 60,
  maxRestarts: 5,
  maxBuffered: 1000,
  /** 8 MiB. */
  resumeBuffer: 8 * 1024 * 1024,
  logLevel: 'info' as LogLevel,
};

/** Settings a config file may hold at the top level (camelCase; kebab-case is accepted too). */
const FILE_GLOBAL_KEYS = [
  'gateway',
  'token',
  'tokenFile',
  'retryForever',
  'ca',
  'insecure',
  'reconnectDelay',
  'maxRetries',
  'keepalive',
  'requestTimeout',
  'startupTimeout',
  'maxRestarts',
  'maxBuffered',
  'resume',
  'resumeBuffer',
  'logLevel',
  'servers',
] as const;
/** Keys describing one server, at the top level (single server) or in `servers` entries. */
const FILE_SERVER_KEYS = [
  'name',
  'serverName',
  'description',
  'serverDescription',
  'share',
  'forwardIdentity',
  'command',
  'args',
  'env',
  'cwd',
  'localStdio',
  'localStreamableHttp',
  'streamableHttp',
  'localSse',
  'sse',
] as const;

type FileObject = Record<string, unknown>;

function camelCase(key: string): string {
  return key.replace(/[-_]([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Normalizes keys to camelCase and refuses unknown ones, so a typo is not silently ignored. */
function checkKeys(raw: FileObject, allowed: readonly string[], where: string): FileObject {
  const out: FileObject = {};
  for (const [key, value] of Object.entries(raw)) {
    const name = camelCase(key);
    if (!allowed.includes(name)) {
      throw new ConfigError(`Unknown setting "${key}" in ${where} (known: ${allowed.join(', ')})`);
    }
    out[name] = value;
  }
  return out;
}

/** Validates the parsed content of a config file (YAML or JSON). */
export function parseConfigFile(content: unknown, source = 'the config file'): FileObject {
  if (content === null || content === undefined) return {};
  if (!isObject(content)) throw new ConfigError(`${source} must hold a mapping of settings`);
  return checkKeys(content, [...FILE_GLOBAL_KEYS, ...FILE_SERVER_KEYS], source);
}

function fileString(file: FileObject, key: string, where: string): string | undefined {
  const value = file[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') throw new ConfigError(`"${key}" in ${where} must be a string`);
  return value;
}

function firstDefined<T>(...values: (T | undefined)[]): T | undefined {
  return values.find((v) => v !== undefined && v !== '');
}

function seconds(value: string | undefined, what: string, fallback: number, opts: { positive?: boolean } = {}): number {
  if (value === undefined) return fallback * 1000;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (opts.positive && n === 0)) {
    throw new ConfigError(`${what} must be a ${opts.positive ? 'positive' : 'non-negative'} number of seconds (got "${value}")`);
  }
  return Math.round(n * 1000);
}

function optionalSeconds(value: string | undefined, what: string): number | undefined {
  return value === undefined ? undefined : seconds(value, what, 0, { positive: true });
}

function count(value: string | undefined, what: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new ConfigError(`${what} must be a whole number${min > 0 ? ` of at least ${min}` : ''} (got "${value}")`);
  }
  return n;
}

function checkName(name: string | undefined, where: string): string | undefined {
  if (name === undefined) return undefined;
  if (name.length > SERVER_INFO_LIMITS.name || !SERVER_NAME_PATTERN.test(name)) {
    throw new ConfigError(
      `Invalid server name "${name}" (${where}): use letters, digits, ".", "-" and "_", starting with a letter or digit, at most ${SERVER_INFO_LIMITS.name} characters`,
    );
  }
  return name;
}

function httpUrl(value: string, what: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${what} is not a URL: "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${what} must be an http(s) URL (got "${value}")`);
  return url.href;
}

function stdioTarget(command: unknown, args: unknown, env: unknown, cwd: unknown, where: string): LocalTarget {
  let argv: string[];
  try {
    if (Array.isArray(command)) {
      argv = command.map((part) => String(part));
    } else if (typeof command === 'string') {
      // With an explicit args list the command is one program path and is not split.
      argv = args === undefined ? splitCommandLine(command) : [command];
    } else {
      throw new ConfigError(`"command" in ${where} must be a string or a list of strings`);
    }
  } catch (err) {
    if (err instanceof CommandLineError) throw new ConfigError(`${err.message} (${where})`);
    throw err;
  }
  if (args !== undefined) {
    if (!Array.isArray(args)) throw new ConfigError(`"args" in ${where} must be a list`);
    argv.push(...args.map((a) => String(a)));
  }
  if (argv.length === 0 || argv[0] === '') throw new ConfigError(`The command in ${where} is empty`);
  const target: LocalTarget = { kind: 'stdio', command: argv[0], args: argv.slice(1) };
  if (env !== undefined) {
    if (!isObject(env)) throw new ConfigError(`"env" in ${where} must be a mapping`);
    target.env = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
  }
  if (cwd !== undefined) {
    if (typeof cwd !== 'string') throw new ConfigError(`"cwd" in ${where} must be a string`);
    target.cwd = cwd;
  }
  return target;
}

interface ServerSpec {
  name?: string;
  description?: string;
  share?: ShareRules;
  /** The server's own `forwardIdentity`; undefined: the default (the command line's, else the file's top level). */
  forwardIdentity?: boolean;
  local: LocalTarget;
}

/** A true/false setting of a config file; undefined when absent. */
function fileBoolean(entry: FileObject, key: string, where: string): boolean | undefined {
  const value = entry[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new ConfigError(`"${key}" in ${where} must be true or false`);
  return value;
}

/** `--share` or a file's `share:` (a string in the same syntax, or a list of entries); undefined when not given. */
function shareRules(value: unknown, where: string): ShareRules | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' && !(Array.isArray(value) && value.every((entry) => typeof entry === 'string'))) {
    throw new ConfigError(`"share" in ${where} must be a string (alice@example.com,group:eng) or a list of strings`);
  }
  const parsed = parseShareText(value);
  if (!parsed.ok) throw new ConfigError(`Invalid share (${where}): ${parsed.error}`);
  return parsed.value;
}

/** One server described by a file object (top level or a `servers` entry). */
function serverFromFile(entry: FileObject, where: string): ServerSpec | undefined {
  const stdio = entry.command ?? entry.localStdio;
  const streamable = fileString(entry, 'localStreamableHttp', where) ?? fileString(entry, 'streamableHttp', where);
  const sse = fileString(entry, 'localSse', where) ?? fileString(entry, 'sse', where);
  const given = [stdio, streamable, sse].filter((v) => v !== undefined).length;
  if (given === 0) return undefined;
  if (given > 1) throw new ConfigError(`${where} names more than one local server; give exactly one of command, streamableHttp, sse`);
  let local: LocalTarget;
  if (stdio !== undefined) local = stdioTarget(stdio, entry.args, entry.env, entry.cwd, where);
  else if (streamable !== undefined) local = { kind: 'streamable-http', url: httpUrl(streamable, `streamableHttp in ${where}`) };
  else local = { kind: 'sse', url: httpUrl(sse!, `sse in ${where}`) };
  return {
    name: checkName(fileString(entry, 'name', where) ?? fileString(entry, 'serverName', where), where),
    description: fileString(entry, 'description', where) ?? fileString(entry, 'serverDescription', where),
    share: shareRules(entry.share, where),
    forwardIdentity: fileBoolean(entry, 'forwardIdentity', where),
    local,
  };
}

function serverFromCli(cli: CliValues): ServerSpec | undefined {
  const given = [cli.localStdio, cli.localStreamableHttp, cli.localSse].filter((v) => v !== undefined).length;
  if (given === 0) return undefined;
  if (given > 1) throw new ConfigError('Give exactly one of --local-stdio, --local-streamable-http, --local-sse');
  let local: LocalTarget;
  if (cli.localStdio !== undefined) local = stdioTarget(cli.localStdio, undefined, undefined, undefined, '--local-stdio');
  else if (cli.localStreamableHttp !== undefined)
    local = { kind: 'streamable-http', url: httpUrl(cli.localStreamableHttp, '--local-streamable-http') };
  else local = { kind: 'sse', url: httpUrl(cli.localSse!, '--local-sse') };
  return { local };
}

/** Which servers to tunnel: the command line's one, else the file's list, else the file's single server. */
function resolveServers(cli: CliValues, file: FileObject): ServerSpec[] {
  const cliName = checkName(cli.name ?? cli.serverName, '--name');
  const fromCli = serverFromCli(cli);
  let servers: ServerSpec[];
  if (fromCli) {
    servers = [fromCli];
  } else if (file.servers !== undefined) {
    if (!Array.isArray(file.servers) || file.servers.length === 0) throw new ConfigError('"servers" must be a non-empty list');
    servers = file.servers.map((raw, i) => {
      const where = `servers[${i}]`;
      if (!isObject(raw)) throw new ConfigError(`${where} must be a mapping`);
      const spec = serverFromFile(checkKeys(raw, FILE_SERVER_KEYS, where), where);
      if (!spec) throw new ConfigError(`${where} names no local server (command, streamableHttp or sse)`);
      return spec;
    });
  } else {
    const single = serverFromFile(file, 'the config file');
    if (!single) {
      throw new ConfigError(
        'No local server given: use --local-stdio "<command>", --local-streamable-http <url> or --local-sse <url>, or a config file with servers: [...]',
      );
    }
    servers = [single];
  }
  if (servers.length > 1 && (cliName !== undefined || cli.serverDescription !== undefined)) {
    throw new ConfigError('--name and --server-description apply to one server, but the config file lists several');
  }
  if (servers.length === 1) {
    // The file's single-server name and description still apply when the command line names the server.
    const fileName = checkName(
      fileString(file, 'name', 'the config file') ?? fileString(file, 'serverName', 'the config file'),
      'the config file',
    );
    const fileDescription = fileString(file, 'description', 'the config file') ?? fileString(file, 'serverDescription', 'the config file');
    servers[0] = {
      ...servers[0],
      name: firstDefined(cliName, servers[0].name, fileName),
      description: firstDefined(cli.serverDescription, servers[0].description, fileDescription),
    };
  }
  // --share wins over each server's own; the file's top-level share is the default of its servers.
  const cliShare = shareRules(cli.share, '--share');
  const fileShare = shareRules(file.share, 'the config file');
  servers = servers.map((server) => ({ ...server, share: cliShare ?? server.share ?? fileShare }));
  const names = servers.map((s) => s.name).filter((n): n is string => n !== undefined);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate) throw new ConfigError(`Two servers are named "${duplicate}"`);
  return servers;
}

/** Reads a token file (config-file.ts: bounded, trimmed); injected so that resolving stays pure. */
export type TokenFileReader = (path: string) => string;

const noTokenFiles: TokenFileReader = (path) => {
  throw new ConfigError(`Cannot read the token file ${path}`);
};

/** The token: --token, --token-file, MCP_TUNNEL_TOKEN, REVERSE_PROXY_TOKEN, then the file's token or tokenFile. */
function resolveToken(cli: CliValues, env: NodeJS.ProcessEnv, file: FileObject, readTokenFile: TokenFileReader): string | undefined {
  if (cli.token !== undefined && cli.tokenFile !== undefined) throw new ConfigError('Give either --token or --token-file, not both');
  if (cli.token) return cli.token;
  if (cli.tokenFile) return readTokenFile(cli.tokenFile);
  const fromEnv = firstDefined(env[ENV.token], env[ENV.legacyToken]);
  if (fromEnv) return fromEnv;
  const where = 'the config file';
  const token = fileString(file, 'token', where);
  const tokenFile = fileString(file, 'tokenFile', where);
  if (token && tokenFile) throw new ConfigError('The config file gives both "token" and "tokenFile"; keep one');
  if (token) return token;
  return tokenFile ? readTokenFile(tokenFile) : undefined;
}

/** The file the token is read from (--token-file, else the config file's `tokenFile` when no other source wins); undefined otherwise. */
function tokenFileOf(cli: CliValues, env: NodeJS.ProcessEnv, file: FileObject): string | undefined {
  if (cli.token) return undefined;
  if (cli.tokenFile) return cli.tokenFile;
  if (firstDefined(env[ENV.token], env[ENV.legacyToken])) return undefined;
  if (fileString(file, 'token', 'the config file')) return undefined;
  return fileString(file, 'tokenFile', 'the config file');
}

/**
 * Resolves every setting. `file` is the parsed config file (see parseConfigFile) or {}.
 * Throws ConfigError with a message meant for the user.
 */
export function resolveConfig(
  cli: CliValues,
  env: NodeJS.ProcessEnv,
  file: FileObject = {},
  readTokenFile: TokenFileReader = noTokenFiles,
): ResolvedConfig {
  const where = 'the config file';
  const pick = (cliValue: string | undefined, envName: string | undefined, fileKey: string): string | undefined =>
    firstDefined(cliValue, envName ? env[envName] : undefined, fileString(file, fileKey, where));

  const logLevel = cli.verbose ? 'debug' : (pick(cli.logLevel, ENV.logLevel, 'logLevel') ?? DEFAULTS.logLevel);
  if (!isLogLevel(logLevel)) throw new ConfigError(`Log level must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);

  const gateway = pick(cli.gateway, ENV.gateway, 'gateway');
  if (!gateway) throw new ConfigError(`No gateway given: use --gateway <url> or ${ENV.gateway}`);
  let gatewayUrl: URL;
  try {
    gatewayUrl = tunnelUrl(gateway);
  } catch (err) {
    if (err instanceof GatewayUrlError) throw new ConfigError(err.message);
    throw err;
  }

  const insecureFile = file.insecure;
  if (insecureFile !== undefined && typeof insecureFile !== 'boolean')
    throw new ConfigError('"insecure" in the config file must be true or false');
  const resumeFile = file.resume;
  if (resumeFile !== undefined && typeof resumeFile !== 'boolean')
    throw new ConfigError('"resume" in the config file must be true or false');
  const retryForeverFile = file.retryForever;
  if (retryForeverFile !== undefined && typeof retryForeverFile !== 'boolean')
    throw new ConfigError('"retryForever" in the config file must be true or false');

  const shared = {
    gatewayUrl,
    token: resolveToken(cli, env, file, readTokenFile),
    tokenFile: tokenFileOf(cli, env, file),
    caFile: pick(cli.ca, undefined, 'ca'),
    insecure: cli.insecure === true || insecureFile === true,
    reconnectDelayMs: seconds(
      pick(cli.reconnectDelay, ENV.reconnectDelay, 'reconnectDelay'),
      'The reconnect delay',
      DEFAULTS.reconnectDelay,
    ),
    maxRetries: count(pick(cli.maxRetries, ENV.maxRetries, 'maxRetries'), 'Max retries', DEFAULTS.maxRetries),
    retryForever: cli.retryForever === true || retryForeverFile === true,
    keepaliveMs: seconds(pick(cli.keepalive, undefined, 'keepalive'), 'The keepalive interval', DEFAULTS.keepalive, { positive: true }),
    startupTimeoutMs: seconds(pick(cli.startupTimeout, undefined, 'startupTimeout'), 'The startup timeout', DEFAULTS.startupTimeout, {
      positive: true,
    }),
    requestTimeoutMs: optionalSeconds(pick(cli.requestTimeout, undefined, 'requestTimeout'), 'The request timeout'),
    maxRestarts: count(pick(cli.maxRestarts, undefined, 'maxRestarts'), 'Max restarts', DEFAULTS.maxRestarts),
    maxBuffered: count(pick(cli.maxBuffered, undefined, 'maxBuffered'), 'Max buffered', DEFAULTS.maxBuffered, 1),
    // Only --no-resume or `resume: false` turn it off: the flag cannot say "on" over the file.
    resume: cli.resume !== false && resumeFile !== false,
    resumeBufferBytes: count(pick(cli.resumeBuffer, undefined, 'resumeBuffer'), 'The resume buffer', DEFAULTS.resumeBuffer, 1),
  };
  // --forward-identity turns it on for every server; otherwise each server's own, else the file's top level.
  const fileForward = fileBoolean(file, 'forwardIdentity', where);
  const tunnels = resolveServers(cli, file).map((server) => ({
    ...shared,
    ...server,
    forwardIdentity: cli.forwardIdentity === true || (server.forwardIdentity ?? fileForward ?? false),
  }));
  return { logLevel, tunnels };
}
