/** The console's pages, in the URL's fragment (so the gateway serves one page for all of them). */
export type Route = { page: 'tunnels' } | { page: 'tunnel'; id: string };

/** A session id as the gateway makes them; anything else is not followed. */
const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** The route of a location hash (`#/tunnels/<id>`); the tunnels list for anything else. */
export function routeOf(hash: string): Route {
  const match = /^#\/tunnels\/([^/?#]+)$/.exec(hash);
  if (match) {
    let id: string;
    try {
      id = decodeURIComponent(match[1]);
    } catch {
      return { page: 'tunnels' };
    }
    if (SESSION_ID.test(id)) return { page: 'tunnel', id };
  }
  return { page: 'tunnels' };
}

/** The hash of a route. */
export function hashOf(route: Route): string {
  return route.page === 'tunnel' ? `#/tunnels/${encodeURIComponent(route.id)}` : '#/';
}

/** The MCP URL of the server `name` on the gateway at `origin` (the page's own origin). */
export function mcpUrlOf(origin: string, name: string): string {
  return `${origin}/servers/${encodeURIComponent(name)}/mcp`;
}
