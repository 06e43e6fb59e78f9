import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
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

  @ApiProperty({ description: 'Frames received from and sent to the tunnel.' })
  message_count!: number;

  @ApiProperty({ description: 'Bytes received from and sent to the tunnel.' })
  bytes_transferred!: number;

  @ApiProperty({ description: 'Bytes received from the tunnel.' })
  bytes_in!: number;

  @ApiProperty({ description: 'Bytes sent to the tunnel.' })
  bytes_out!: number;

  @ApiProperty({ description: 'Calls sent down the tunnel still waiting for an answer.' })
  pending_requests!: number;

  /** Builds the DTO from a live session. */
  static from(session: SessionHandle): SessionDto {
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
    dto.bytes_in = info.bytesIn;
    dto.bytes_out = info.bytesOut;
    dto.bytes_transferred = info.bytesIn + info.bytesOut;
    dto.pending_requests = info.pendingCount;
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
