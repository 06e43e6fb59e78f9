import type { LogLevel as NestLogLevel } from '@nestjs/common';
import type { LogLevel } from '../config/app-config.js';

const ORDER: LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** Nest's level list for a configured threshold (`info` maps to Nest's `log`). */
export function logLevels(level: LogLevel): NestLogLevel[] {
  return ORDER.slice(0, ORDER.indexOf(level) + 1).flatMap((l): NestLogLevel[] =>
    l === 'info' ? ['log'] : l === 'debug' ? ['debug', 'verbose'] : [l],
  );
}
