#!/usr/bin/env node
/**
 * The framework's own cost per request, for issue 5's "Express vs Fastify": the same one-route
 * app (a guard reading the Authorization header, a JSON body in, a JSON-RPC answer out) on bare
 * node:http, on Nest with the Express adapter, and on Nest with the Fastify adapter. No tunnel,
 * no JWT: only what the HTTP layer costs. Each server runs in its own process; autocannon loads it
 * from this one. Prints one JSON line: {"<kind>": {"<c>": {rps, cpuPer1k}}}.
 *
 *   node bench/adapters.mjs [--duration 4]
 */
import 'reflect-metadata';
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { cpuMs, freePort } from './lib/proc.mjs';

const KINDS = ['node:http', 'nest-express', 'nest-fastify'];
const answer = (body) => ({ jsonrpc: '2.0', id: body.id, result: { content: [{ type: 'text', text: 'bench' }] } });

async function serve(kind, port) {
  if (kind === 'node:http') {
    return new Promise((resolve) =>
      http
        .createServer((req, res) => {
          if (req.headers.authorization !== 'Bearer t') return res.writeHead(401).end();
          let data = '';
          req.setEncoding('utf8');
          req.on('data', (chunk) => (data += chunk));
          req.on('end', () => {
            const out = JSON.stringify(answer(JSON.parse(data)));
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
          });
        })
        .listen(port, '127.0.0.1', resolve),
    );
  }
  const { NestFactory } = await import('@nestjs/core');
  const c = await import('@nestjs/common');
  // Decorators applied by hand: this file is plain JavaScript.
  class HeaderGuard {
    canActivate(ctx) {
      return ctx.switchToHttp().getRequest().headers.authorization === 'Bearer t';
    }
  }
  class BenchController {
    send(_id, body) {
      return answer(body);
    }
  }
  const send = Object.getOwnPropertyDescriptor(BenchController.prototype, 'send');
  c.Param('id')(BenchController.prototype, 'send', 0);
  c.Body()(BenchController.prototype, 'send', 1);
  c.Post(':id/request')(BenchController.prototype, 'send', send);
  c.HttpCode(200)(BenchController.prototype, 'send', send);
  c.UseGuards(HeaderGuard)(BenchController);
  c.Controller('sessions')(BenchController);
  class BenchModule {}
  c.Module({ controllers: [BenchController] })(BenchModule);
  const app =
    kind === 'nest-express'
      ? await NestFactory.create(BenchModule, { logger: false })
      : await NestFactory.create(BenchModule, new (await import('@nestjs/platform-fastify')).FastifyAdapter(), { logger: false });
  await app.listen(port, '127.0.0.1');
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3], Number(process.argv[4]));
  process.send('ready');
} else {
  const at = process.argv.indexOf('--duration');
  const duration = at === -1 ? 4 : Number(process.argv[at + 1]);
  const results = {};
  for (const kind of KINDS) {
    const port = await freePort();
    const server = fork(fileURLToPath(import.meta.url), ['--serve', kind, String(port)]);
    await new Promise((resolve) => server.once('message', resolve));
    results[kind] = {};
    for (const connections of [1, 64]) {
      const opts = {
        url: `http://127.0.0.1:${port}/sessions/s1/request`,
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer t' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { text: 'bench' } } }),
        connections,
        duration: 1,
      };
      await autocannon(opts);
      const before = cpuMs(server.pid);
      const run = await autocannon({ ...opts, duration });
      const used = cpuMs(server.pid) - before;
      if (run.non2xx > 0 || run.errors > 0) throw new Error(`${kind}: ${run.non2xx} non-2xx, ${run.errors} errors`);
      results[kind][connections] = { rps: run.requests.total / duration, cpuPer1k: used / (run.requests.total / 1000) };
    }
    server.kill();
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
  process.exit(0);
}
