import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';

/** Query options of POST /reverse-proxy/sessions/:id/request (validated by SendRequestQueryPipe; `?token=` is the auth hook's, set aside before). */
export class SendRequestQueryDto {
  @ApiPropertyOptional({
    description: 'Wait at most this long for the answer (ms); can only shorten the gateway default.',
    minimum: 1,
    example: 5000,
  })
  @IsOptional()
  @Transform(({ value }) => (value === undefined || value === '' ? undefined : Number(value)))
  @Max(3_600_000, { message: 'timeout_ms must be at most 3600000' })
  @Min(1, { message: 'timeout_ms must be at least 1' })
  // Last, so checked first: decorators apply bottom-up and only the first error is reported.
  @IsInt({ message: 'timeout_ms must be a whole number of milliseconds' })
  timeout_ms?: number;

  @ApiPropertyOptional({ description: 'false: return 202 at once and deliver the answer on the SSE stream.', default: true })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'false' || value === '0' ? false : value === 'true' || value === '1' ? true : value,
  )
  @IsBoolean({ message: 'wait must be true or false' })
  wait?: boolean;
}
