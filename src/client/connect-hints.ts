/**
 * Names the likely mistake when the first connection to the gateway fails: nothing that ever
 * worked is retried in silence, and "could not connect (ECONNREFUSED)" on a loop tells a new user
 * nothing. One line each, meant for the terminal.
 */
import { TUNNEL_PATH } from '../protocol/envelopes.js';
import { displayUrl } from './gateway-url.js';

/** What is known of a failed connection attempt. */
export interface ConnectFailure {
  /** HTTP status of a refused upgrade. */
  status?: number;
  /** Its status text, or the start of its body. */
  statusText?: string;
  /** The socket error's code (ECONNREFUSED, EPROTO, ...) or message. */
  error?: string;
}

/** TLS errors a `wss://` connection to a plain-HTTP port ends with (OpenSSL reads an HTTP answer as a record). */
const NOT_TLS_ERRORS = new Set(['EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST']);
/** A connection cut before any answer: what a TLS port does with plain HTTP (and what older gateways did with a wrong path). */
const CUT_ERRORS = new Set(['ECONNRESET', 'socket hang up', 'EPIPE']);
/** Certificate errors that --ca fixes (a private CA, or a self-signed certificate). */
export const TLS_TRUST_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);
/** `/servers/<name>/mcp` or `/sse` ahead of the tunnel path: an MCP client URL given as the gateway. */
const MCP_URL_PATH = /^(.*?)\/servers\/[^/]+\/(?:mcp|sse|messages)(?:\/|$)/;

/** The `--gateway` value the user most likely meant: scheme, host and any path prefix, without the tunnel path. */
function gatewayBase(url: URL, prefix: string): string {
  const scheme = url.protocol === 'wss:' ? 'https:' : 'http:';
  return `${scheme}//${url.host}${prefix}`;
}

/** One line naming what probably went wrong with a first connection to `url` (the tunnel's WebSocket URL). */
export function firstConnectionHint(url: URL, failure: ConnectFailure): string {
  const where = displayUrl(url);
  const prefix = url.pathname.endsWith(TUNNEL_PATH) ? url.pathname.slice(0, -TUNNEL_PATH.length) : url.pathname;
  const mcpPath = MCP_URL_PATH.exec(prefix);
  const { status, error } = failure;
  const http = status !== undefined ? `HTTP ${status}${failure.statusText ? `: ${failure.statusText}` : ''}` : undefined;

  if (mcpPath && (status === 404 || (status === undefined && error !== undefined && CUT_ERRORS.has(error)))) {
    return `cannot connect to ${where} (${http ?? error}): --gateway was given a server's MCP URL; give the gateway's own URL, ${gatewayBase(url, mcpPath[1])}`;
  }
  if (status === 404) {
    return `cannot connect to ${where} (${http}): no tunnel endpoint there; --gateway takes the gateway's base URL (with its path prefix, if any), the client appends ${TUNNEL_PATH}`;
  }
  if (status === 401 || status === 403) {
    return `the gateway refused the connection (${http}); check the token: it may be missing, expired or meant for another gateway`;
  }
  if (status === 400 && url.protocol === 'ws:' && /https|tls|ssl/i.test(failure.statusText ?? '')) {
    return `cannot connect to ${where} (${http}): the gateway expects TLS; use ${gatewayBase(url, prefix).replace('http:', 'https:')}`;
  }
  if (status !== undefined) {
    return `cannot connect to ${where} (${http}): is this the MCP gateway's URL? (--retry-forever keeps trying)`;
  }
  if (error === 'ECONNREFUSED') {
    return `cannot connect to ${where}: nothing accepts connections at ${url.host}; is the gateway running, and on that port? (--retry-forever keeps trying until it is)`;
  }
  if (error === 'ENOTFOUND' || error === 'EAI_AGAIN') {
    return `cannot connect to ${where}: the host name ${url.hostname} does not resolve; check --gateway`;
  }
  if (url.protocol === 'wss:' && error !== undefined && (NOT_TLS_ERRORS.has(error) || /wrong version number|packet length/i.test(error))) {
    return `cannot connect to ${where} (${error}): the gateway does not speak TLS on that port; use ${gatewayBase(url, prefix).replace('https:', 'http:')} (http://, not https://)`;
  }
  if (error !== undefined && TLS_TRUST_ERRORS.has(error)) {
    return `cannot connect to ${where} (${error}): the gateway's certificate is not trusted; if it comes from your own CA, pass --ca <file>`;
  }
  if (url.protocol === 'ws:' && error !== undefined && CUT_ERRORS.has(error)) {
    return `cannot connect to ${where} (${error}): the connection was cut before any answer; if the gateway is behind TLS, use ${gatewayBase(url, prefix).replace('http:', 'https:')}`;
  }
  return `cannot connect to ${where} (${error ?? 'no answer'}) (--retry-forever keeps trying)`;
}
