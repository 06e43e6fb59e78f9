/**
 * One interface over the ways a local MCP server can be reached: a child process on stdio, or a
 * server that already speaks Streamable HTTP or SSE. The tunnel only ever sees JSON-RPC messages
 * in and out, and one `exit` when the server is gone. An instance is started once; a restart
 * makes a new one.
 */
import type { JsonRpcMessage } from '../protocol/json-rpc.js';
import type { LocalTarget } from './config.js';

export interface LocalServerExit {
  /** Exit code of a process; null when it was killed by a signal or is not a process. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Readable cause: "exited with code 3", "was killed by SIGKILL", "closed its session". */
  reason: string;
  /** Last lines the server wrote to stderr (stdio only). */
  stderrTail: string[];
}

export type LocalProtocol = 'stdio' | 'streamable-http' | 'sse';

export interface LocalServer {
  readonly protocol: LocalProtocol;
  /** What to call the server in logs; never includes arguments, which may hold secrets. */
  readonly label: string;
  /** Process id, for stdio servers once started. */
  readonly pid: number | undefined;
  /** Each JSON value the server sends. */
  onmessage?: (message: unknown) => void;
  /** Output that is not JSON-RPC (stray stdout lines, transport warnings). */
  onoutput?: (line: string) => void;
  /** Called once when the server is gone, whether it crashed or was stopped. */
  onexit?: (exit: LocalServerExit) => void;
  /** Rejects when the server cannot be started at all (e.g. the command does not exist). */
  start(): Promise<void>;
  /** Delivers one message; rejects when it cannot be delivered. */
  send(message: JsonRpcMessage): Promise<void>;
  /** HTTP transports put the negotiated version in a header; a no-op for stdio. */
  setProtocolVersion(version: string): void;
  /** Stops the server and resolves once it is gone. */
  stop(): Promise<void>;
}

export type LocalServerFactory = (target: LocalTarget) => LocalServer;
