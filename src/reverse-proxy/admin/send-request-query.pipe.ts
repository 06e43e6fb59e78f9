import { Injectable, type PipeTransform, ValidationPipe } from '@nestjs/common';
import { SendRequestQueryDto } from './dto/send-request-query.dto.js';

/**
 * The query of `POST /reverse-proxy/sessions/:id/request`, validated against `SendRequestQueryDto`
 * (numbers and booleans converted, unknown options refused, the first error reported). `?token=` is
 * the auth hook's, not an option of the route: it is set aside first. Most calls carry no option: an
 * empty query becomes a fresh DTO without going through class-transformer and class-validator
 * (validating `{}` on every call cost about a tenth of the gateway's CPU per call), once `{}` was
 * seen to pass the normal way.
 */
@Injectable()
export class SendRequestQueryPipe implements PipeTransform<unknown, Promise<SendRequestQueryDto>> {
  private readonly validation = new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    stopAtFirstError: true,
  });
  private emptyAccepted: Promise<boolean> | undefined;

  async transform(query: unknown): Promise<SendRequestQueryDto> {
    const options = withoutToken(query);
    if (isEmptyObject(options)) {
      this.emptyAccepted ??= this.validate({}).then(
        () => true,
        () => false,
      );
      if (await this.emptyAccepted) return new SendRequestQueryDto();
    }
    return this.validate(options);
  }

  private validate(options: unknown): Promise<SendRequestQueryDto> {
    return this.validation.transform(options, { type: 'query', metatype: SendRequestQueryDto }) as Promise<SendRequestQueryDto>;
  }
}

function withoutToken(query: unknown): unknown {
  if (typeof query !== 'object' || query === null || !Object.hasOwn(query, 'token')) return query;
  const options: Record<string, unknown> = { ...query };
  delete options.token;
  return options;
}

function isEmptyObject(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  for (const _ in value) return false;
  return true;
}
