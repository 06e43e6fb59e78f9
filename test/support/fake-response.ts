import { EventEmitter } from 'node:events';

/** What the door's exchanges use of a Node response, recording what was written. */
export class FakeResponse extends EventEmitter {
  status: number | undefined;
  headers: Record<string, string | number> = {};
  chunks: string[] = [];
  ended = false;
  destroyed = false;
  headersSent = false;
  flushed = false;
  writableLength = 0;
  writableNeedDrain = false;

  writeHead(status: number, headers: Record<string, string | number>): this {
    if (this.headersSent) throw new Error('headers sent twice');
    this.status = status;
    this.headers = headers;
    this.headersSent = true;
    return this;
  }
  flushHeaders(): void {
    this.flushed = true;
  }
  write(chunk: string): boolean {
    if (this.ended) throw new Error('write after end');
    this.chunks.push(chunk);
    return true;
  }
  end(chunk?: string): this {
    if (this.ended) throw new Error('ended twice');
    if (chunk !== undefined) this.chunks.push(chunk);
    this.ended = true;
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    this.emit('close');
    return this;
  }
  /** The client went away. */
  leave(): void {
    this.destroy();
  }
  get body(): string {
    return this.chunks.join('');
  }
  /** The SSE events written, as {id, data} (comments and priming data left as they are). */
  get events(): { id?: string; data: string }[] {
    return this.body
      .split('\n\n')
      .filter((block) => block.length > 0 && !block.startsWith(':'))
      .map((block) => {
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: ?(.*)$/m.exec(block)?.[1] ?? '';
        return { ...(id === undefined ? {} : { id }), data };
      });
  }
}
