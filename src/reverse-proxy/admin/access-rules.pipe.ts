import { BadRequestException, Injectable, type PipeTransform, ValidationPipe } from '@nestjs/common';
import { AccessRules, AccessRulesError } from '../../auth/access-rules.js';
import { AccessRulesDto } from './dto/access-rules.dto.js';

/**
 * The body of `PUT /reverse-proxy/sessions/:id/access`: one object validated against AccessRulesDto
 * (unknown fields refused, the first error reported), then made into AccessRules, which also refuse
 * control characters, commas and surrounding spaces in names (400 with the problem named).
 */
@Injectable()
export class AccessRulesPipe implements PipeTransform<unknown, Promise<AccessRules>> {
  private readonly validation = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: true });

  async transform(body: unknown): Promise<AccessRules> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequestException('The body must be one JSON object {users, groups, everyone}');
    }
    const dto = (await this.validation.transform(body, { type: 'body', metatype: AccessRulesDto })) as AccessRulesDto;
    try {
      return AccessRules.from({ users: dto.users ?? [], groups: dto.groups ?? [], everyone: dto.everyone ?? false });
    } catch (err) {
      if (err instanceof AccessRulesError) throw new BadRequestException(err.message);
      throw err;
    }
  }
}
