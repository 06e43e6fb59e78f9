import { Inject, Injectable } from '@nestjs/common';
import type { AppConfig } from './app-config.js';
import { APP_CONFIG } from './config.module.js';

/** Names that always reach the gateway from its own machine (the SDK's localhostHostValidation list). */
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** How many `Host` answers are remembered, and for names up to which length. */
const HOST_VERDICTS = { maxEntries: 256, maxHostLength: 255 } as const;

/** A host name with the port it must come with; no port means any. */
interface HostRule {
  hostname: string;
  port: number | undefined;
}

/** `host[:port]` split the way a browser would: lower-case name (IPv6 in brackets) and numeric port. */
export function parseHost(value: string): { hostname: string; port: number | undefined } | undefined {
  try {
    const url = new URL(`http://${value}`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined;
    const explicit = /:(\d+)$/.exec(value);
    return { hostname: url.hostname, port: explicit ? Number(explicit[1]) : undefined };
  } catch {
    return undefined;
  }
}

/**
 * Which `Host` headers and browser origins are the gateway itself (DNS-rebinding protection):
 * the loopback names on the listening port (any port when it is 0, as in tests), the host of
 * PUBLIC_URL, and ALLOWED_HOSTS (`*` accepts any Host). An origin is allowed when it is
 * PUBLIC_URL, listed in MCP_ALLOWED_ORIGINS, or names one of those hosts explicitly: `*` in
 * ALLOWED_HOSTS never lets any web page through. One instance (provided by the reverse-proxy
 * module), shared by the MCP doors' HostGuard and OriginGuard, the catalog and the tunnel endpoint,
 * which both hand out the gateway's public URL (publicBaseUrl).
 */
@Injectable()
export class HostAllowList {
  private readonly rules: HostRule[];
  private readonly anyHost: boolean;
  private readonly origins: Set<string>;
  private readonly anyOrigin: boolean;
  private readonly publicUrl: string | undefined;
  /** allowsHost's answers by Host value: bounded, so made-up names can only flush it. */
  private readonly hostVerdicts = new Map<string, boolean>();

  constructor(
    @Inject(APP_CONFIG) config: Pick<AppConfig, 'port' | 'publicUrl' | 'allowedHosts'> & { mcp: Pick<AppConfig['mcp'], 'allowedOrigins'> },
  ) {
    const port = config.port === 0 ? undefined : config.port;
    this.rules = LOOPBACK_NAMES.map((hostname) => ({ hostname, port }));
    if (config.publicUrl) {
      const url = new URL(config.publicUrl);
      this.rules.push({ hostname: url.hostname, port: url.port ? Number(url.port) : undefined });
    }
    this.anyHost = config.allowedHosts.includes('*');
    for (const entry of config.allowedHosts) {
      const rule = entry === '*' ? undefined : parseHost(entry);
      if (rule) this.rules.push(rule);
    }
    this.anyOrigin = config.mcp.allowedOrigins.includes('*');
    this.origins = new Set(config.mcp.allowedOrigins.map(normalizeOrigin).filter((o): o is string => o !== undefined));
    if (config.publicUrl) this.origins.add(config.publicUrl);
    this.publicUrl = config.publicUrl;
  }

  /**
   * Where clients reach the gateway (`scheme://host[:port]`): PUBLIC_URL when set; else the request's
   * `Host` only if it names the gateway, so a rebound name is never handed out; else undefined (the
   * gateway cannot tell). `secure`: the request came over TLS (X-Forwarded-Proto is not believed).
   */
  publicBaseUrl(host: string | undefined, secure: boolean): string | undefined {
    if (this.publicUrl) return this.publicUrl;
    if (!host || !this.allowsHost(host)) return undefined;
    return `${secure ? 'https' : 'http'}://${host}`;
  }

  /** Whether a `Host` header names the gateway; a missing or malformed one does not. */
  allowsHost(host: string | undefined): boolean {
    if (this.anyHost) return host !== undefined && host !== '';
    if (!host) return false;
    // Every request of the MCP doors asks, nearly always about the same few names: parsing one is a URL.
    const known = this.hostVerdicts.get(host);
    if (known !== undefined) return known;
    const parsed = parseHost(host);
    // A Host without a port means the default one: the gateway itself speaks plain HTTP.
    const allowed = parsed !== undefined && this.matches(parsed.hostname, parsed.port ?? 80);
    if (host.length <= HOST_VERDICTS.maxHostLength) {
      if (this.hostVerdicts.size >= HOST_VERDICTS.maxEntries) this.hostVerdicts.clear();
      this.hostVerdicts.set(host, allowed);
    }
    return allowed;
  }

  /** Whether a browser `Origin` belongs to the gateway or is listed as allowed. */
  allowsOrigin(origin: string): boolean {
    if (this.anyOrigin) return true;
    const normalized = normalizeOrigin(origin);
    if (normalized === undefined) return false;
    if (this.origins.has(normalized)) return true;
    const url = new URL(normalized);
    return this.matches(url.hostname, url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80);
  }

  private matches(hostname: string, port: number): boolean {
    return this.rules.some((rule) => rule.hostname === hostname && (rule.port === undefined || rule.port === port));
  }
}

/** The origin of a URL (`scheme://host[:port]`), or undefined for `null` and junk. */
function normalizeOrigin(value: string): string | undefined {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}
