import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CreateMessageResultSchema,
  ListRootsResultSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** Calls to `hold` wait here until the test releases them; `aborted` says whether the server saw a cancellation. */
export interface HeldCall {
  release(text: string): void;
  aborted: Promise<void>;
}

export interface TestServer {
  server: McpServer;
  /** Calls of the `hold` tool in the order they arrived. */
  held: HeldCall[];
  /** Resolves with the next `hold` call (or one already waiting and not yet taken). */
  nextHeld(): Promise<HeldCall>;
  subscribed: Set<string>;
}

/**
 * A real SDK McpServer with the tools the MCP door tests need: echo, progress, hold (waits for the
 * test, notices cancellation), sample (asks the calling client for sampling), roots, touch
 * (resources/updated), announce (list_changed + a log message), plus a prompt and a resource.
 */
export function createTestServer(options: { name?: string; withPrompts?: boolean } = {}): TestServer {
  const server = new McpServer(
    { name: options.name ?? 'test-server', title: 'Test Server', version: '1.0.0' },
    { capabilities: { logging: {} }, instructions: 'A server for the MCP door tests.' },
  );
  const held: HeldCall[] = [];
  const heldWaiters: ((call: HeldCall) => void)[] = [];
  let heldTaken = 0;
  const subscribed = new Set<string>();

  server.registerTool('echo', { description: 'Returns its text', inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: 'text', text }],
  }));

  server.registerTool(
    'progress',
    { description: 'Reports progress steps', inputSchema: { steps: z.number().int().min(1).max(50) } },
    async ({ steps }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        if (token !== undefined) {
          await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i, total: steps } });
        }
      }
      return { content: [{ type: 'text', text: `done ${steps}` }] };
    },
  );

  server.registerTool('hold', { description: 'Waits until the test releases it' }, async (extra) => {
    let release!: (text: string) => void;
    const released = new Promise<string>((resolve) => (release = resolve));
    const aborted = new Promise<void>((resolve) => extra.signal.addEventListener('abort', () => resolve(), { once: true }));
    const call: HeldCall = { release, aborted };
    held.push(call);
    const waiter = heldWaiters.shift();
    if (waiter) {
      heldTaken++;
      waiter(call);
    }
    const text = await Promise.race([released, aborted.then(() => 'aborted')]);
    return { content: [{ type: 'text', text }] };
  });

  server.registerTool(
    'sample',
    { description: 'Asks the client to sample', inputSchema: { prompt: z.string() } },
    async ({ prompt }, extra) => {
      try {
        const result = await extra.sendRequest(
          {
            method: 'sampling/createMessage',
            params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 50 },
          },
          CreateMessageResultSchema,
        );
        const content = result.content as { type: string; text?: string };
        return { content: [{ type: 'text', text: `sampled: ${content.text ?? ''}` }] };
      } catch (err) {
        return { isError: true, content: [{ type: 'text', text: `sampling failed: ${(err as Error).message}` }] };
      }
    },
  );

  server.registerTool('roots', { description: 'Asks the client for its roots' }, async (extra) => {
    try {
      const result = await extra.sendRequest({ method: 'roots/list' }, ListRootsResultSchema);
      return { content: [{ type: 'text', text: result.roots.map((r) => r.uri).join(',') }] };
    } catch (err) {
      return { isError: true, content: [{ type: 'text', text: `roots failed: ${(err as Error).message}` }] };
    }
  });

  server.registerTool('touch', { description: 'Announces an update of a resource', inputSchema: { uri: z.string() } }, async ({ uri }) => {
    await server.server.sendResourceUpdated({ uri });
    return { content: [{ type: 'text', text: 'touched' }] };
  });

  server.registerTool('announce', { description: 'Sends tools/list_changed and a log message' }, async () => {
    server.sendToolListChanged();
    await server.server.sendLoggingMessage({ level: 'info', data: 'announced' });
    return { content: [{ type: 'text', text: 'announced' }] };
  });

  server.registerResource('hello', 'fixture://hello', { description: 'A greeting', mimeType: 'text/plain' }, async (uri) => ({
    contents: [{ uri: uri.href, text: 'hello from the fixture' }],
  }));

  if (options.withPrompts !== false) {
    server.registerPrompt('greet', { description: 'Greets someone', argsSchema: { who: z.string() } }, ({ who }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `Hello, ${who}!` } }],
    }));
  }

  server.server.registerCapabilities({ resources: { subscribe: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    subscribed.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });

  return {
    server,
    held,
    subscribed,
    nextHeld: () => {
      if (heldTaken < held.length) return Promise.resolve(held[heldTaken++]);
      return new Promise((resolve) => heldWaiters.push(resolve));
    },
  };
}
