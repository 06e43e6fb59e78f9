/**
 * Which client capability a server-to-client request needs: sampling, elicitation and roots need
 * the client to have declared them; ping needs none (`null`); any other method is not one a server
 * may send a client (`undefined`).
 */
const CAPABILITY_FOR_METHOD: Readonly<Record<string, string | null>> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
  ping: null,
};

/** The capability a server request needs (`null`: none, `undefined`: not a server-to-client method). */
export function capabilityFor(method: string): string | null | undefined {
  return Object.hasOwn(CAPABILITY_FOR_METHOD, method) ? CAPABILITY_FOR_METHOD[method] : undefined;
}

/** Every request a server may send its client. */
export const SERVER_REQUEST_METHODS: readonly string[] = Object.keys(CAPABILITY_FOR_METHOD);
