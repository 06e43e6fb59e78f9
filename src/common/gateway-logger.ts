import { ConsoleLogger, type LogLevel as NestLogLevel } from '@nestjs/common';
import type { LogFormat, LogLevel } from '../config/app-config.js';
import { logLevels } from './log-levels.js';

/** Where a finished log line goes: stdout, or stderr for errors. */
export type LogSink = (stream: 'stdout' | 'stderr', line: string) => void;

/** What the gateway logger is built from: the configured format and threshold; the clock and the sink for tests. */
export interface GatewayLoggerOptions {
  format: LogFormat;
  level: LogLevel;
  now?: () => number;
  write?: LogSink;
}

/** The level names the logs carry: the configured ones (`info`, not Nest's `log`). */
const LEVEL_NAMES: Record<NestLogLevel, string> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'debug',
};

/** Nest's own start-up chatter (every module and route it wires): debug lines here, so the start-up block stands out. */
const FRAMEWORK_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
  'WebSocketsController',
]);

/** Nest's own error for a failed listen: main.ts says it in one line of its own (listen-error.ts). */
const NEST_LISTEN_ERROR = /^Error: listen E[A-Z]+/;

const writeToProcess: LogSink = (stream, line) => void process[stream].write(line);

/**
 * Nest's ConsoleLogger with the gateway's log shape. JSON: one object per line with `level` as the
 * configured names (`info`, `warn`, ...) and an ISO 8601 `timestamp`. Pretty: one line per event,
 * `<ISO time> <LEVEL> [context] message key=value ...`, a stack included (escaped), for a terminal.
 * Nest's route and module listings are demoted to debug.
 */
export class GatewayLogger extends ConsoleLogger {
  private readonly now: () => number;
  private readonly write: LogSink;

  constructor(options: GatewayLoggerOptions) {
    super({ json: options.format === 'json', logLevels: logLevels(options.level), colors: false });
    this.now = options.now ?? Date.now;
    this.write = options.write ?? writeToProcess;
  }

  override log(message: unknown, ...rest: unknown[]): void {
    if (FRAMEWORK_CONTEXTS.has(contextOf(rest) ?? '')) return this.debug(message, ...rest);
    super.log(message, ...rest);
  }

  override error(message: unknown, ...rest: unknown[]): void {
    if (contextOf(rest) === 'NestApplication' && typeof message === 'string' && NEST_LISTEN_ERROR.test(message)) {
      return this.debug(message, ...rest);
    }
    super.error(message, ...rest);
  }

  protected override printAsJson(...args: Parameters<ConsoleLogger['printAsJson']>): void {
    const [message, options] = args;
    const record = {
      ...this.getJsonLogObject(message, options),
      level: LEVEL_NAMES[options.logLevel],
      timestamp: new Date(this.now()).toISOString(),
    };
    this.write(options.writeStreamType ?? 'stdout', `${this.stringifyJsonLogObject(record)}\n`);
  }

  protected override printMessages(...args: Parameters<ConsoleLogger['printMessages']>): void {
    if (this.options.json) return super.printMessages(...args);
    const [messages, context, logLevel = 'log', stream = 'stdout', errorStack, params] = args;
    const time = new Date(this.now()).toISOString();
    const level = LEVEL_NAMES[logLevel].toUpperCase().padEnd(5);
    for (const message of messages) {
      let line = `${time} ${level} ${context ? `[${context}] ` : ''}${prettyMessage(this.resolveMessage(message))}`;
      if (params) line += prettyFields(params);
      if (typeof errorStack === 'string' && errorStack) line += ` stack=${JSON.stringify(errorStack)}`;
      this.write(stream, `${line}\n`);
    }
  }

  /** The pretty line carries the stack already. */
  protected override printStackTrace(): void {}
}

/** The context Nest's Logger appends as the last argument. */
function contextOf(rest: unknown[]): string | undefined {
  const last = rest[rest.length - 1];
  return typeof last === 'string' ? last : undefined;
}

/** A message on one line: a string as is (newlines escaped), an object as its `msg` followed by its other fields. */
function prettyMessage(message: unknown): string {
  if (typeof message === 'string') return oneLine(message);
  if (message instanceof Error) return `${oneLine(message.message)} stack=${JSON.stringify(message.stack ?? '')}`;
  if (message !== null && typeof message === 'object' && !Array.isArray(message)) {
    const { msg, ...fields } = message as Record<string, unknown>;
    return `${typeof msg === 'string' ? oneLine(msg) : ''}${prettyFields(fields)}`.trimStart();
  }
  return stringify(message);
}

function prettyFields(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${key}=${stringify(value)}`)
    .join('');
}

/** JSON for a field's value (strings quoted only when they hold spaces or quotes), never throwing. */
function stringify(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return '[unserializable]';
  }
}

function oneLine(text: string): string {
  return text.replace(/\r?\n/g, '\\n');
}
