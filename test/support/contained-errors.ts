import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { config as rxjsConfig } from 'rxjs';

/** What a containment test reads after each step: errors that escaped, and the error log. */
export interface ContainedErrors {
  /** Errors RxJS would have rethrown on a timer (ending the process); empty when everything was contained. */
  readonly unhandled: unknown[];
  /** Nest's error log, silenced and counted. */
  readonly logged: () => ReturnType<typeof jest.spyOn>;
}

/**
 * Registers beforeEach/afterEach hooks that record what escapes containment: RxJS's
 * `onUnhandledError` records instead of rethrowing, so a leak shows up as a failed assertion rather
 * than a dead test worker, and `Logger.error` is counted without printing.
 */
export function recordContainedErrors(): ContainedErrors {
  const unhandled: unknown[] = [];
  const previous = rxjsConfig.onUnhandledError;
  let logged!: ReturnType<typeof jest.spyOn>;
  beforeEach(() => {
    unhandled.length = 0;
    logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    rxjsConfig.onUnhandledError = (err) => unhandled.push(err);
  });
  afterEach(() => {
    rxjsConfig.onUnhandledError = previous;
    jest.restoreAllMocks();
  });
  return { unhandled, logged: () => logged };
}
