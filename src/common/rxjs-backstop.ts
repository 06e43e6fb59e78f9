import { Logger } from '@nestjs/common';
import { config } from 'rxjs';

/**
 * Last backstop only: RxJS rethrows an error a subscriber did not handle on a timer, which ends
 * the process. Each subscriber contains its own errors; one that slips through is logged, briefly.
 */
export function logUnhandledRxjsErrors(): void {
  const logger = new Logger('RxJS');
  config.onUnhandledError = (err: unknown) => {
    logger.error({ msg: 'Unhandled error in an event stream', error: String(err).slice(0, 200) });
  };
}
