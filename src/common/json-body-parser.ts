import { BadRequestException } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RawServerDefault } from 'fastify';
import { nestsDeeperThan } from '../protocol/json-limits.js';

/** Error code of a body refused as too deep; HttpExceptionFilter maps it to a fixed sentence like Fastify's own codes. */
export const JSON_TOO_DEEP_CODE = 'GW_ERR_JSON_TOO_DEEP';

/**
 * Every JSON request body goes through Fastify's own parser (size limit, empty and invalid bodies,
 * `__proto__` and `constructor` refused, all unchanged) and is then refused with 400 when it nests
 * deeper than `maxDepth`, before any handler, validator or SDK transport walks it.
 */
export function useDepthLimitedJsonBodies(app: NestFastifyApplication, maxDepth: number): void {
  const fastify = app.getHttpAdapter().getInstance();
  const { bodyLimit, onProtoPoisoning, onConstructorPoisoning } = fastify.initialConfig;
  const parse = fastify.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error');
  app.useBodyParser<RawServerDefault>('application/json', { bodyLimit }, (req, body, done) => {
    // The default JSON parser is the callback form: it answers through the callback and returns nothing.
    void parse(req, body.toString('utf8'), (err, value) => {
      if (err) done(err, undefined);
      else if (nestsDeeperThan(value, maxDepth)) done(tooDeep(maxDepth), undefined);
      else done(null, value);
    });
  });
}

function tooDeep(maxDepth: number): BadRequestException {
  const cause = Object.assign(new Error(`JSON body nests deeper than ${maxDepth} levels`), { code: JSON_TOO_DEEP_CODE });
  return new BadRequestException(cause.message, { cause });
}
