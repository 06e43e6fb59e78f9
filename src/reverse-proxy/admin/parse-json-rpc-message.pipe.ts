import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import {
  classifyJsonRpc,
  type JsonRpcKind,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
} from '../../protocol/json-rpc.js';

/** A REST caller's message, classified once. */
export type RestMessage =
  | { kind: 'request'; message: JsonRpcRequest }
  | { kind: 'notification'; message: JsonRpcNotification }
  | { kind: 'response'; message: JsonRpcResponse };

export const NOT_A_JSON_RPC_MESSAGE =
  'Body must be one JSON-RPC 2.0 message: a request {jsonrpc, id, method, params?}, a notification {jsonrpc, method, params?} or a response {jsonrpc, id, result | error}';

/**
 * The body of `POST /reverse-proxy/sessions/:id/request`: one JSON-RPC 2.0 message, or 400 at once.
 * Stricter than `classifyJsonRpc`, which lets a missing `jsonrpc` through because some stdio servers
 * omit it: a REST caller must say `"jsonrpc": "2.0"` (a message the server would not take must not
 * wait for a timeout).
 */
@Injectable()
export class ParseJsonRpcMessagePipe implements PipeTransform<unknown, RestMessage> {
  transform(body: unknown): RestMessage {
    const kind: JsonRpcKind | undefined = classifyJsonRpc(body);
    if (kind === undefined || (body as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
      throw new BadRequestException(NOT_A_JSON_RPC_MESSAGE);
    }
    return { kind, message: body } as RestMessage;
  }
}
