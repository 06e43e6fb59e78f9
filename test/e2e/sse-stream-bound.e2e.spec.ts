import { SSE_OPTIONS_METADATA } from '@nestjs/common/constants.js';
import { SessionsController } from '../../src/reverse-proxy/admin/sessions.controller.js';
import { startGateway } from '../support/gateway.js';

/** The REST SSE stream's unread-bytes bound is STREAM_MAX_BUFFERED_BYTES, like every streamed response. */

test("the SSE route's Nest pending-data limit is the configured STREAM_MAX_BUFFERED_BYTES", async () => {
  const gw = await startGateway({ STREAM_MAX_BUFFERED_BYTES: String(48 * 1024) });
  try {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the method is only the metadata's key here
    expect(Reflect.getMetadata(SSE_OPTIONS_METADATA, SessionsController.prototype.stream)).toEqual({ maxPendingDataLength: 48 * 1024 });
  } finally {
    await gw.close();
  }
});
