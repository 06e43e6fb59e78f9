import 'reflect-metadata';
import { GatewayLogger } from '../../src/common/gateway-logger.js';
import type { LogFormat, LogLevel } from '../../src/config/app-config.js';

const NOW = Date.parse('2026-03-04T05:06:07.089Z');

/** A logger whose lines are collected, with a fixed clock. */
function capture(format: LogFormat, level: LogLevel = 'debug') {
  const out: { stream: string; line: string }[] = [];
  const logger = new GatewayLogger({ format, level, now: () => NOW, write: (stream, line) => void out.push({ stream, line }) });
  return { logger, out };
}

test('JSON: level names are the configured ones and timestamps ISO 8601', () => {
  const { logger, out } = capture('json');
  logger.log({ msg: 'Tunnel registered', user: 'alice' }, 'TunnelGateway');
  logger.warn('careful', 'X');
  logger.verbose('chatty', 'X');
  const records = out.map(({ line }) => JSON.parse(line) as Record<string, unknown>);
  expect(records.map((r) => r.level)).toEqual(['info', 'warn', 'debug']);
  expect(new Set(records.map((r) => r.timestamp))).toEqual(new Set(['2026-03-04T05:06:07.089Z']));
  expect(records[0]).toMatchObject({ message: { msg: 'Tunnel registered', user: 'alice' }, context: 'TunnelGateway' });
  expect(out.every(({ line }) => line.endsWith('\n') && line.indexOf('\n') === line.length - 1)).toBe(true);
});

test('pretty: one line per event, a stack and newlines escaped into it', () => {
  const { logger, out } = capture('pretty');
  logger.log({ msg: 'Tunnel registered', sessionId: 'abc', user: 'alice@example.com', name: 'two words' }, 'TunnelGateway');
  logger.warn('first line\nsecond line', 'X');
  const err = new Error('boom');
  logger.error(err.message, err.stack, 'HttpExceptionFilter');
  logger.error(err, 'HttpExceptionFilter');
  expect(out).toHaveLength(4);
  for (const { line } of out) expect(line.indexOf('\n')).toBe(line.length - 1);
  expect(out[0].line).toBe(
    '2026-03-04T05:06:07.089Z INFO  [TunnelGateway] Tunnel registered sessionId=abc user=alice@example.com name="two words"\n',
  );
  expect(out[1].line).toBe('2026-03-04T05:06:07.089Z WARN  [X] first line\\nsecond line\n');
  expect(out[2]).toMatchObject({ stream: 'stderr' });
  expect(out[2].line).toMatch(/^2026-03-04T05:06:07\.089Z ERROR \[HttpExceptionFilter\] boom stack="Error: boom\\n +at /);
  expect(out[3].line).toMatch(/ERROR \[HttpExceptionFilter\] boom stack="Error: boom\\n/);
});

test("Nest's module and route listings are debug lines; the threshold still applies", () => {
  const { logger, out } = capture('json', 'info');
  logger.log('Mapped {/health, GET} route', 'RouterExplorer');
  logger.log('Nest application successfully started', 'NestApplication');
  logger.error('Error: listen EADDRINUSE: address already in use 127.0.0.1:3000', 'NestApplication');
  expect(out).toEqual([]);
  const debug = capture('json', 'debug');
  debug.logger.log('Mapped {/health, GET} route', 'RouterExplorer');
  expect(JSON.parse(debug.out[0].line)).toMatchObject({ level: 'debug', context: 'RouterExplorer' });
  // Any other error of the framework is still an error.
  logger.error('Something else', 'NestApplication');
  expect(JSON.parse(out[0].line)).toMatchObject({ level: 'error', message: 'Something else' });
});
