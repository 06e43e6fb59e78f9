import {
  CLIENT_CAPABILITIES_META_KEY,
  createMcpHandler,
  PerRequestHTTPServerTransport,
  PROTOCOL_VERSION_META_KEY,
  ProtocolError,
  Server,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCRequest,
  type ServerContext,
} from '@modelcontextprotocol/server';
import { ExchangeTransport, type ExchangeSink } from '../../../src/mcp/stateless/exchange-transport.js';

const REVISION = '2026-07-28';
const CLASSIFICATION = { era: 'modern', revision: REVISION } as const;
const AUTH = { token: 't', clientId: 'c', scopes: [] };
const ENVELOPE = { [PROTOCOL_VERSION_META_KEY]: REVISION, [CLIENT_CAPABILITIES_META_KEY]: {} };

type Handler = (request: JSONRPCRequest, ctx: ServerContext) => Promise<Record<string, unknown>>;

/** What the transport hands one exchange; `done` settles at its answer or abandonment. */
class RecordingSink implements ExchangeSink {
  answers: { message: any; status: number }[] = [];
  relatedMessages: any[] = [];
  abandoned = 0;
  readonly done: Promise<void>;
  private settle!: () => void;

  constructor(readonly requestId: string | number) {
    this.done = new Promise((resolve) => (this.settle = resolve));
  }
  answer(message: object, status: number): void {
    this.answers.push({ message, status });
    this.settle();
  }
  related(message: object): void {
    this.relatedMessages.push(message);
  }
  abandon(): void {
    this.abandoned++;
    this.settle();
  }
}

function newServer(handler: Handler): Server {
  const server = new Server(
    { name: 't', version: '1' },
    { capabilities: { tools: {} }, supportedProtocolVersions: [...SUPPORTED_PROTOCOL_VERSIONS, REVISION] },
  );
  server.fallbackRequestHandler = handler;
  return server;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close().catch(() => undefined)));
});

async function setup(handler: Handler) {
  const server = newServer(handler);
  servers.push(server);
  const transport = new ExchangeTransport(CLASSIFICATION);
  await server.connect(transport);
  return { server, transport };
}

const request = (id: string | number, method = 'tools/call', params: Record<string, unknown> = { name: 'echo' }): JSONRPCRequest => ({
  jsonrpc: '2.0',
  id,
  method,
  params: { ...params, _meta: ENVELOPE },
});

/** A handler whose calls the test answers by hand, in any order. */
function heldHandler() {
  const calls: { request: JSONRPCRequest; ctx: ServerContext; resolve: (result: Record<string, unknown>) => void }[] = [];
  const handler: Handler = (req, ctx) => new Promise((resolve) => calls.push({ request: req, ctx, resolve }));
  return { calls, handler };
}

/** Lets the server's deferred handler run. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

test("the SDK encodes the result for the revision, and the answer carries the client's id", async () => {
  const { transport } = await setup(async () => ({ content: [{ type: 'text', text: 'hi' }] }));
  const sink = new RecordingSink('client-1');
  transport.deliver(request('client-1'), CLASSIFICATION, AUTH, sink);
  await sink.done;
  expect(sink.answers).toHaveLength(1);
  const { message, status } = sink.answers[0];
  expect(status).toBe(200);
  expect(message.id).toBe('client-1');
  expect(message.result.content).toEqual([{ type: 'text', text: 'hi' }]);
  expect(message.result.resultType).toBe('complete');
  expect(message.result._meta['io.modelcontextprotocol/serverInfo']).toMatchObject({ name: 't', version: '1' });
  expect(transport.inFlight).toBe(0);
});

test('the handler sees a renumbered id, so that two clients using the same id each get their own answer', async () => {
  const { calls, handler } = heldHandler();
  const { transport } = await setup(handler);
  const first = new RecordingSink(1);
  const second = new RecordingSink(1);
  transport.deliver(request(1, 'tools/call', { name: 'a' }), CLASSIFICATION, AUTH, first);
  transport.deliver(request(1, 'tools/call', { name: 'b' }), CLASSIFICATION, AUTH, second);
  await tick();
  expect(calls).toHaveLength(2);
  expect(calls[0].request.id).not.toBe(calls[1].request.id);
  expect(transport.inFlight).toBe(2);

  // Answered out of order: each answer still finds its own exchange.
  calls.find((call) => call.request.params?.name === 'b')!.resolve({ content: [{ type: 'text', text: 'b' }] });
  await second.done;
  calls.find((call) => call.request.params?.name === 'a')!.resolve({ content: [{ type: 'text', text: 'a' }] });
  await first.done;
  expect(first.answers.map((a) => [a.message.id, a.message.result.content[0].text])).toEqual([[1, 'a']]);
  expect(second.answers.map((a) => [a.message.id, a.message.result.content[0].text])).toEqual([[1, 'b']]);
});

test('an error the handler throws is answered in-band (200), with the revision encoding its code', async () => {
  let code = -32603;
  const { transport } = await setup(async () => {
    throw new ProtocolError(code, 'failed', { uri: 'file:///gone' });
  });
  const internal = new RecordingSink('e1');
  transport.deliver(request('e1'), CLASSIFICATION, AUTH, internal);
  await internal.done;
  expect(internal.answers).toEqual([
    { message: expect.objectContaining({ id: 'e1', error: expect.objectContaining({ code: -32603 }) }), status: 200 },
  ]);

  // The revision has no -32002: the SDK sends resource-not-found as -32602.
  code = -32002;
  const notFound = new RecordingSink('e2');
  transport.deliver(request('e2', 'resources/read', { uri: 'file:///gone' }), CLASSIFICATION, AUTH, notFound);
  await notFound.done;
  expect(notFound.answers[0].status).toBe(200);
  expect(notFound.answers[0].message.error.code).toBe(-32602);

  // A method-not-found raised by the handler (not the registry) stays in-band too.
  code = -32601;
  const thrown = new RecordingSink('e3');
  transport.deliver(request('e3'), CLASSIFICATION, AUTH, thrown);
  await thrown.done;
  expect(thrown.answers[0]).toMatchObject({ message: { error: { code: -32601 } }, status: 200 });
});

test("a related notification reaches only its own request's exchange", async () => {
  const { calls, handler } = heldHandler();
  const { transport } = await setup(handler);
  const first = new RecordingSink('p');
  const second = new RecordingSink('q');
  transport.deliver(request('p', 'tools/call', { name: 'a', _meta: { progressToken: 'tok' } }), CLASSIFICATION, AUTH, first);
  transport.deliver(request('q'), CLASSIFICATION, AUTH, second);
  await tick();
  const progress = { method: 'notifications/progress', params: { progressToken: 'tok', progress: 1 } };
  await calls[0].ctx.mcpReq.notify(progress);
  expect(first.relatedMessages).toEqual([expect.objectContaining(progress)]);
  expect(second.relatedMessages).toEqual([]);
  expect(first.answers).toEqual([]);
  for (const call of calls) call.resolve({ content: [] });
  await Promise.all([first.done, second.done]);
});

/** Status and error code of one message through the SDK's own handler, the entry the direct path stands in for. */
async function throughSdkHandler(body: object, headers: Record<string, string>): Promise<{ status: number; code: number }> {
  const server = newServer(async () => ({ content: [] }));
  servers.push(server);
  const handler = createMcpHandler(() => server, { legacy: 'reject' });
  const response = await handler.fetch(
    new Request('http://gateway/mcp', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify(body),
    }),
  );
  const answer = (await response.json()) as { error: { code: number } };
  await handler.close();
  return { status: response.status, code: answer.error.code };
}

/** Status and error code of one message through the SDK's per-request transport, which ExchangeTransport mirrors. */
async function throughPerRequestTransport(body: JSONRPCRequest): Promise<{ status: number; code: number }> {
  const server = newServer(async () => ({ content: [] }));
  servers.push(server);
  const transport = new PerRequestHTTPServerTransport({ classification: CLASSIFICATION });
  await server.connect(transport);
  const response = await transport.handleMessage(body, { authInfo: AUTH });
  return { status: response.status, code: ((await response.json()) as { error: { code: number } }).error.code };
}

test("a request without its envelope is refused by the server as the SDK's per-request transport refuses it", async () => {
  const { transport } = await setup(async () => ({ content: [] }));
  const bare: JSONRPCRequest = { jsonrpc: '2.0', id: 'n', method: 'tools/list', params: {} };
  const sink = new RecordingSink('n');
  transport.deliver(bare, CLASSIFICATION, AUTH, sink);
  await sink.done;
  const ours = { status: sink.answers[0].status, code: sink.answers[0].message.error.code };
  expect(ours).toEqual(await throughPerRequestTransport(bare));
  expect(ours.code).toBe(-32602);
  // The SDK's entry refuses it earlier, from the classifier, with 400 (the server never sees it);
  // the door relies on directStatelessRoute never delivering such a request (see its spec).
  expect(await throughSdkHandler(bare, { 'mcp-protocol-version': REVISION, 'mcp-method': 'tools/list' })).toEqual({
    status: 400,
    code: -32602,
  });
});

test('a method the revision does not define is refused while the server takes it in: 404, as the SDK entry gives', async () => {
  const { transport } = await setup(async () => ({ content: [] }));
  const unknown = request('u', 'initialize', {});
  const sink = new RecordingSink('u');
  transport.deliver(unknown, CLASSIFICATION, AUTH, sink);
  await sink.done;
  const ours = { status: sink.answers[0].status, code: sink.answers[0].message.error.code };
  expect(ours).toEqual(await throughSdkHandler(unknown, { 'mcp-protocol-version': REVISION, 'mcp-method': 'initialize' }));
  expect(ours).toEqual({ status: 404, code: -32601 });
});

test('closing abandons every exchange still in flight, and later deliveries at once', async () => {
  const { calls, handler } = heldHandler();
  const { transport } = await setup(handler);
  const first = new RecordingSink(1);
  const second = new RecordingSink(2);
  transport.deliver(request(1), CLASSIFICATION, AUTH, first);
  transport.deliver(request(2), CLASSIFICATION, AUTH, second);
  await tick();
  await transport.close();
  expect([first.abandoned, second.abandoned]).toEqual([1, 1]);
  expect(transport.inFlight).toBe(0);

  // A handler finishing after the close answers nobody.
  for (const call of calls) call.resolve({ content: [] });
  await tick();
  expect([...first.answers, ...second.answers]).toEqual([]);

  const late = new RecordingSink(3);
  transport.deliver(request(3), CLASSIFICATION, AUTH, late);
  expect(late.abandoned).toBe(1);
  expect(late.answers).toEqual([]);
});

test('a transport no server is connected to abandons what it is given', () => {
  const transport = new ExchangeTransport(CLASSIFICATION);
  const sink = new RecordingSink(1);
  transport.deliver(request(1), CLASSIFICATION, AUTH, sink);
  expect(sink.abandoned).toBe(1);
});

test('onDrained fires each time the last answer in flight is out', async () => {
  const { calls, handler } = heldHandler();
  const { transport } = await setup(handler);
  let drained = 0;
  transport.onDrained = () => drained++;
  const first = new RecordingSink(1);
  const second = new RecordingSink(2);
  transport.deliver(request(1), CLASSIFICATION, AUTH, first);
  transport.deliver(request(2), CLASSIFICATION, AUTH, second);
  await tick();
  calls[0].resolve({ content: [] });
  await first.done;
  expect(drained).toBe(0);
  calls[1].resolve({ content: [] });
  await second.done;
  expect(drained).toBe(1);

  const third = new RecordingSink(3);
  transport.deliver(request(3), CLASSIFICATION, AUTH, third);
  await tick();
  calls[2].resolve({ content: [] });
  await third.done;
  expect(drained).toBe(2);
});
