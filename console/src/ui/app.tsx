/** The console: sign-in, then the tunnels list or one tunnel, by the location hash. */
import { useCallback, useMemo, useState } from 'preact/hooks';
import { ApiError, GatewayApi } from '../lib/api.js';
import { summarizeToken } from '../lib/token-claims.js';
import { TokenStore } from '../lib/token-store.js';
import { useRoute } from './hooks.js';
import { takeCallbackFromLocation } from './oauth-sign-in.js';
import { SignIn } from './sign-in.js';
import { TunnelView } from './tunnel-view.js';
import { TunnelsView } from './tunnels-view.js';

/** The page's fetch, bound (a bare `fetch` reference called as a method fails in some browsers). */
const pageFetch = (input: string, init?: RequestInit): Promise<Response> => fetch(input, init);

export function App() {
  const store = useMemo(() => new TokenStore(sessionStorage), []);
  const [token, setToken] = useState(() => store.get());
  const [notice, setNotice] = useState<string>();
  // Read once, at start: the provider's redirect back, finished by the sign-in page.
  const [callback, setCallback] = useState(takeCallbackFromLocation);
  const route = useRoute();
  const api = useMemo(() => (token ? new GatewayApi(token, pageFetch) : undefined), [token]);

  const signOut = useCallback(
    (why?: string) => {
      store.clear();
      setCallback(undefined);
      setToken(undefined);
      setNotice(why);
    },
    [store],
  );
  /** Every view reports its errors here: a refused token signs out, anything else is the view's to show. */
  const onAuthError = useCallback(
    (err: unknown) => {
      if (err instanceof ApiError && err.status === 401) signOut('The gateway refused the token (expired or invalid): sign in again.');
    },
    [signOut],
  );

  if (!api || !token) {
    return (
      <SignIn
        notice={notice}
        callback={callback}
        onSignedIn={(t) => {
          setCallback(undefined);
          store.set(t);
          setNotice(undefined);
          setToken(store.get());
        }}
      />
    );
  }
  const who = summarizeToken(token).subject;
  return (
    <>
      <header class="topbar">
        <a class="brand" href="#/">
          Gateway console
        </a>
        <nav aria-label="Main">
          <a href="#/" aria-current={route.page === 'tunnels' ? 'page' : undefined}>
            Tunnels
          </a>
          <a href="/docs" target="_blank" rel="noopener noreferrer">
            API docs
          </a>
        </nav>
        <span class="who">{who ? `Signed in as ${who}` : 'Signed in'}</span>
        <button type="button" class="secondary" onClick={() => signOut()}>
          Sign out
        </button>
      </header>
      <main id="main">
        {route.page === 'tunnel' ? (
          <TunnelView key={route.id} api={api} id={route.id} onAuthError={onAuthError} />
        ) : (
          <TunnelsView api={api} onAuthError={onAuthError} />
        )}
      </main>
    </>
  );
}
