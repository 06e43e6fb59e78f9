import 'reflect-metadata';
import { BadRequestException } from '@nestjs/common';
import { IsInt, IsOptional, IsString } from 'class-validator';
import { GatewayValidationPipe } from '../../src/common/validation.pipe.js';
import { SendRequestQueryDto } from '../../src/reverse-proxy/dto/send-request-query.dto.js';

class NeedsName {
  @IsString()
  name!: string;
}

class OptionalOnly {
  @IsOptional()
  @IsInt()
  count?: number;

  @IsString()
  label = 'default';
}

const pipe = new GatewayValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true });
const query = (metatype: new () => unknown) => ({ type: 'query' as const, metatype, data: undefined });

test('an empty object for a DTO with only optional fields becomes an instance, every time', async () => {
  for (let i = 0; i < 3; i++) {
    const out = await pipe.transform({}, query(OptionalOnly));
    expect(out).toBeInstanceOf(OptionalOnly);
    expect(out).toEqual(Object.assign(new OptionalOnly(), {}));
    expect((out as OptionalOnly).label).toBe('default');
  }
  // fastify's query objects have no prototype
  expect(await pipe.transform(Object.create(null), query(SendRequestQueryDto))).toBeInstanceOf(SendRequestQueryDto);
});

test('an empty object for a DTO with a required field is refused, every time', async () => {
  for (let i = 0; i < 2; i++) {
    await expect(pipe.transform({}, query(NeedsName))).rejects.toBeInstanceOf(BadRequestException);
  }
});

test('non-empty input is still validated in full after the shortcut was taken', async () => {
  await pipe.transform({}, query(SendRequestQueryDto));
  await expect(pipe.transform({ timeout_ms: 'abc' }, query(SendRequestQueryDto))).rejects.toBeInstanceOf(BadRequestException);
  await expect(pipe.transform({ unknown: '1' }, query(SendRequestQueryDto))).rejects.toBeInstanceOf(BadRequestException);
  expect(await pipe.transform({ timeout_ms: '50', wait: 'false' }, query(SendRequestQueryDto))).toMatchObject({
    timeout_ms: 50,
    wait: false,
  });
});
