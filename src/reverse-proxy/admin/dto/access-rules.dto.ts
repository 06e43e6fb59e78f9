import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsOptional, IsString, Length } from 'class-validator';
import { SHARE_LIMITS } from '../../../protocol/share.js';

/** Who besides its owner may use a server: the body of PUT /reverse-proxy/sessions/:id/access (each field defaults to none). */
export class AccessRulesDto {
  @ApiPropertyOptional({
    description: 'Users who may use the server, by owner key: the token `sub`, else its `email` (exact match).',
    type: [String],
    maxItems: SHARE_LIMITS.users,
    example: ['bob@example.com'],
  })
  @IsOptional()
  @Length(1, SHARE_LIMITS.entry, { each: true, message: `each user must be 1 to ${SHARE_LIMITS.entry} characters` })
  @IsString({ each: true, message: 'users must be a list of strings' })
  @ArrayMaxSize(SHARE_LIMITS.users, { message: `users may name at most ${SHARE_LIMITS.users} entries` })
  // Last, so checked first: decorators apply bottom-up and only the first error is reported.
  @IsArray({ message: 'users must be a list of strings' })
  users?: string[];

  @ApiPropertyOptional({
    description: "Groups whose members may use the server, as the token's groups claim names them.",
    type: [String],
    maxItems: SHARE_LIMITS.groups,
    example: ['eng'],
  })
  @IsOptional()
  @Length(1, SHARE_LIMITS.entry, { each: true, message: `each group must be 1 to ${SHARE_LIMITS.entry} characters` })
  @IsString({ each: true, message: 'groups must be a list of strings' })
  @ArrayMaxSize(SHARE_LIMITS.groups, { message: `groups may name at most ${SHARE_LIMITS.groups} entries` })
  // Last, so checked first: decorators apply bottom-up and only the first error is reported.
  @IsArray({ message: 'groups must be a list of strings' })
  groups?: string[];

  @ApiPropertyOptional({ description: 'true: every authenticated user may use the server.', default: false, example: false })
  @IsOptional()
  @IsBoolean({ message: 'everyone must be true or false' })
  everyone?: boolean;
}

/**
 * The request bodies Swagger UI offers for PUT /reverse-proxy/sessions/:id/access; each works when
 * sent as is (test/e2e/sharing.e2e.spec.ts sends every one).
 */
export const ACCESS_RULES_EXAMPLES: Record<string, { summary: string; value: Record<string, unknown> }> = {
  users: { summary: 'Share with named users (200)', value: { users: ['bob@example.com'] } },
  group: { summary: 'Share with the members of a group (200)', value: { groups: ['eng'] } },
  everyone: { summary: 'Share with every authenticated user (200)', value: { everyone: true } },
  'only me': { summary: 'Only the owner (and admins) again (200)', value: { users: [], groups: [], everyone: false } },
};

/** A session's access rules, as GET and PUT /reverse-proxy/sessions/:id/access answer. */
export class SessionAccessDto {
  @ApiProperty({ description: 'The session the rules belong to.', example: '9f2c4e0a5b7d4c1e8a3f6b2d1c0e9a8b' })
  session_id!: string;

  @ApiPropertyOptional({ description: 'Server name the tunnel registered.', example: 'git-tools' })
  name?: string;

  @ApiProperty({
    description: 'Owner (JWT sub or email); null for sessions opened without auth (open to all).',
    nullable: true,
    type: String,
  })
  owner!: string | null;

  @ApiProperty({ description: 'Users who may use the server besides the owner.', type: [String], example: ['bob@example.com'] })
  users!: string[];

  @ApiProperty({ description: 'Groups whose members may use it.', type: [String], example: ['eng'] })
  groups!: string[];

  @ApiProperty({ description: 'Whether every authenticated user may use it.', example: false })
  everyone!: boolean;
}
