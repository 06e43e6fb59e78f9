/**
 * The text of a WebSocket text frame as `ws` delivers it (`RawData`: a Buffer by default, an
 * ArrayBuffer or the fragments with another `binaryType`), decoded as UTF-8.
 */
export function frameText(data: Buffer | ArrayBuffer | Buffer[]): string {
  if (Buffer.isBuffer(data)) return data.toString();
  if (Array.isArray(data)) return Buffer.concat(data).toString();
  return Buffer.from(data).toString();
}
