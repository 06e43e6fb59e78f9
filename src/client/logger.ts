/**
 * Terminal output for people: one line per state change at `info`, the traffic at `debug`.
 * Everything goes to stderr so stdout stays free (and the local server's stderr passes through
 * alongside). Secrets are redacted from every line, not only from traffic.
 */

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

const REDACTED = '***';
/** Compact JWS / JWT: three base64url parts, the first a JSON header ("eyJ"). */
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const BEARER_PATTERN = /\b(Bearer\s+)[^\s"',]+/gi;
/** JSON string values of keys that usually hold credentials (a resume token takes over a tunnel session). */
const SECRET_FIELD_PATTERN =
  /("(?:authorization|authentication|token|access_token|refresh_token|resume_?token|password|secret|api[_-]?key)"\s*:\s*")((?:[^"\\]|\\.)*)"/gi;
/** user:password@ in URLs. */
const URL_CREDENTIALS_PATTERN = /(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi;

/** Removes tokens and other credentials from a line of text. `secrets` are exact strings to hide. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out
    .replace(JWT_PATTERN, REDACTED)
    .replace(BEARER_PATTERN, `$1${REDACTED}`)
    .replace(SECRET_FIELD_PATTERN, `$1${REDACTED}"`)
    .replace(URL_CREDENTIALS_PATTERN, `$1${REDACTED}@`);
}

export interface LogSink {
  write(line: string): void;
}

export interface LoggerOptions {
  level: LogLevel;
  /** Shown in brackets on every line; one per tunnel when several run in one process. */
  name?: string;
  secrets?: readonly string[];
  sink?: LogSink;
  /** Longest debug line; traffic is cut there so a large result does not flood the terminal. */
  maxDebugChars?: number;
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export class Logger {
  private readonly sink: LogSink;

  constructor(private readonly options: LoggerOptions) {
    this.sink = options.sink ?? { write: (line) => process.stderr.write(line) };
  }

  /** The same settings under another name (one logger per tunnel). */
  child(name: string, extraSecrets: readonly string[] = []): Logger {
    return new Logger({ ...this.options, name, secrets: [...(this.options.secrets ?? []), ...extraSecrets], sink: this.sink });
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] <= RANK[this.options.level];
  }

  error(message: string): void {
    this.log('error', message);
  }
  warn(message: string): void {
    this.log('warn', message);
  }
  info(message: string): void {
    this.log('info', message);
  }
  debug(message: string): void {
    if (!this.enabled('debug')) return;
    // Redact before cutting, so a token split at the cut cannot slip through.
    const clean = redact(message, this.options.secrets);
    const max = this.options.maxDebugChars ?? 2000;
    this.log('debug', clean.length > max ? `${clean.slice(0, max)}... (${clean.length} chars)` : clean);
  }

  private log(level: LogLevel, message: string): void {
    if (!this.enabled(level)) return;
    const time = new Date().toISOString().slice(11, 23);
    const tag = level === 'info' ? '' : `${level.toUpperCase()} `;
    const name = this.options.name ? `[${this.options.name}] ` : '';
    this.sink.write(`${time} ${tag}${name}${redact(message, this.options.secrets)}\n`);
  }
}
