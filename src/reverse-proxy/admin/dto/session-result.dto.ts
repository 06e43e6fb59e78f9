import { ApiProperty } from '@nestjs/swagger';

/** Answer to DELETE /reverse-proxy/sessions/:id. */
export class DisconnectResultDto {
  @ApiProperty({ example: 'disconnected', description: 'Always "disconnected".' })
  status!: 'disconnected';

  @ApiProperty({ description: 'The session that was closed.' })
  session_id!: string;
}

/** Answer when a message was sent without waiting for a reply (a notification, or ?wait=false). */
export class SentResultDto {
  @ApiProperty({ example: 'sent', description: 'Always "sent"; a reply, if any, arrives on the SSE stream.' })
  status!: 'sent';

  @ApiProperty({ description: 'The session the message went to.' })
  session_id!: string;
}
