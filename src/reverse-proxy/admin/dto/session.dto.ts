import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { AccessRules } from '../../../auth/access-rules.js';
import type { Role } from '../../../auth/principal.js';
import type { ShareRules } from '../../../protocol/share.js';
import type { SessionHandle } from '../../tunnel/tunnel-handle.js';

/** One tunnel session as the admin API shows it (field names of the reference gateway). */
export class SessionDto {
  @ApiProperty({ description: 'Session id chosen by the gateway (128-bit, hex).', example: '9f2c4e0a5b7d4c1e8a3f6b2d1c0e9a8b' })
  session_id!: string;

  @ApiPropertyOptional({ description: 'Server name the tunnel registered, unique on the gateway.', example: 'git-tools' })
  name?: string;

  @ApiProperty({
    description: 'Owner (JWT sub or email); null for sessions opened without auth.',
    nullable: true,
    type: String,
    example: 'alice@example.com',
  })
  user!: string | null;

  @ApiProperty({ description: 'connected, registered, ready (handshake done) or closed.', example: 'ready' })
  state!: string;

  @ApiProperty({ description: 'What the tunnel registered: name, version, capabilities, protocolVersion, instructions, ...', type: Object })
  server_info!: Record<string, unknown>;

  @ApiProperty({ description: 'When the tunnel connected (ISO 8601).' })
  connected_at!: string;

  @ApiProperty({ description: 'Last frame sent or received (ISO 8601).' })
  last_activity!: string;

  @ApiProperty({ description: 'Frames received from and sent to the tunnel (messages_in + messages_out).' })
  message_count!: number;

  @ApiProperty({ description: 'Frames received from the tunnel.' })
  messages_in!: number;

  @ApiProperty({ description: 'Frames sent to the tunnel.' })
  messages_out!: number;

  @ApiProperty({ description: 'Bytes received from and sent to the tunnel.' })
  bytes_transferred!: number;

  @ApiProperty({ description: 'Bytes received from the tunnel.' })
  bytes_in!: number;

  @ApiProperty({ description: 'Bytes sent to the tunnel.' })
  bytes_out!: number;

  @ApiProperty({ description: 'Calls sent down the tunnel still waiting for an answer.' })
  pending_requests!: number;

  @ApiProperty({
    description: 'True while the tunnel lost its connection and the session waits for its client to resume it (calls wait meanwhile).',
    example: false,
  })
  suspended!: boolean;

  @ApiProperty({
    description: "The caller's role: owner, admin, or user (the owner shared the server with the caller, who may use it, not manage it).",
    enum: ['owner', 'admin', 'user'],
    example: 'owner',
  })
  role!: Role;

  @ApiPropertyOptional({
    description: 'Who besides the owner may use the server (shown to the owner and admins only); see GET .../access.',
    type: Object,
    example: { users: ['bob@example.com'], groups: ['eng'], everyone: false },
  })
  access?: ShareRules;

  /** Builds the DTO from a live session, for a caller with `role` on it (the rules only for the owner and admins). */
  static from(session: SessionHandle, role: Role): SessionDto {
    const info = session.info();
    const dto = new SessionDto();
    dto.session_id = info.id;
    dto.name = info.name;
    dto.user = info.owner;
    dto.state = info.state;
    dto.server_info = { ...(info.server ?? {}) };
    dto.connected_at = info.connectedAt.toISOString();
    dto.last_activity = new Date(info.lastActivity).toISOString();
    dto.message_count = info.messagesIn + info.messagesOut;
    dto.messages_in = info.messagesIn;
    dto.messages_out = info.messagesOut;
    dto.bytes_in = info.bytesIn;
    dto.bytes_out = info.bytesOut;
    dto.bytes_transferred = info.bytesIn + info.bytesOut;
    dto.pending_requests = info.pendingCount;
    dto.suspended = info.suspended;
    dto.role = role;
    if (role !== 'user') dto.access = (info.access ?? AccessRules.ONLY_OWNER).toJSON();
    return dto;
  }
}

/** The sessions the caller may see. */
export class SessionListDto {
  @ApiProperty({ type: [SessionDto], description: 'Sessions visible to the caller.' })
  sessions!: SessionDto[];

  @ApiProperty({ description: 'Number of sessions listed.' })
  total!: number;
}
