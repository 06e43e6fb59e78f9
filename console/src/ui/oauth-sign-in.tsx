/** Sign-in at the gateway's identity provider: the button that starts it, and the return that finishes it. */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, GatewayApi } from '../lib/api.js';
import { callbackOf, urlWithoutCallback, type Callback } from '../lib/oauth-callback.js';
import { loadOAuthOffer, type OAuthOffer } from '../lib/oauth-offer.js';
import { finishSignIn, SignInError, startSignIn, type SignInDeps } from '../lib/oauth-sign-in.js';

/** The page's fetch, bound (a bare `fetch` reference called as a method fails in some browsers). */
const pageFetch = (input: string, init?: RequestInit): Promise<Response> => fetch(input, init);

/** What the flow uses of the page. */
function pageDeps(): SignInDeps {
  return { fetch: pageFetch, crypto, storage: sessionStorage, now: () => Date.now() };
}

/**
 * The provider's redirect back to this page, if the address holds one, taken out of the address at
 * once (history.replaceState): the code and state never stay in the address bar or the history.
 */
export function takeCallbackFromLocation(): Callback | undefined {
  const callback = callbackOf(location.search);
  if (callback) history.replaceState(history.state, '', urlWithoutCallback(location.href));
  return callback;
}

/** The message for a failed sign-in: the flow's own sentence, the gateway's refusal, or a fixed one. */
function messageOf(err: unknown): string {
  if (err instanceof SignInError) return err.message;
  if (err instanceof ApiError) return `The gateway refused the token the identity provider issued: ${err.message}`;
  return 'The sign-in could not be finished.';
}

export function OAuthSignIn({ callback, onSignedIn }: { callback?: Callback; onSignedIn: (token: string) => void }) {
  const [offer, setOffer] = useState<OAuthOffer>();
  const [phase, setPhase] = useState<'idle' | 'leaving' | 'finishing'>(callback ? 'finishing' : 'idle');
  const [error, setError] = useState<string>();

  useEffect(() => {
    let live = true;
    void loadOAuthOffer(pageFetch, location.origin).then((found) => live && setOffer(found));
    // Back from the provider's page through the history: the button works again.
    const onShow = (e: PageTransitionEvent): void => void (e.persisted && setPhase('idle'));
    window.addEventListener('pageshow', onShow);
    return () => {
      live = false;
      window.removeEventListener('pageshow', onShow);
    };
  }, []);

  useEffect(() => {
    if (!callback) return;
    void (async () => {
      try {
        const token = await finishSignIn(callback, pageDeps());
        // Checked against the gateway before it is kept, as a pasted token is.
        await new GatewayApi(token, pageFetch).listSessions();
        onSignedIn(token);
      } catch (err) {
        setError(messageOf(err));
        setPhase('idle');
      }
    })();
  }, []);

  const start = async (chosen: OAuthOffer): Promise<void> => {
    setPhase('leaving');
    setError(undefined);
    try {
      // A top-level navigation: the provider's login page is not the console's to frame or fetch.
      location.assign(await startSignIn(chosen, pageDeps()));
    } catch (err) {
      setError(messageOf(err));
      setPhase('idle');
    }
  };

  if (!offer && phase !== 'finishing' && !error) return null;
  return (
    <section class="oauth" aria-label="Sign in with the identity provider">
      {phase === 'finishing' && <p role="status">Finishing the sign-in…</p>}
      {offer &&
        (offer.here ? (
          <button type="button" onClick={() => void start(offer)} disabled={phase !== 'idle'}>
            {phase === 'leaving' ? `Opening ${offer.label}…` : `Sign in with ${offer.label}`}
          </button>
        ) : (
          <p class="help">
            Signing in with {offer.label} works from the console at its public address: <a href={offer.redirectUri}>{offer.redirectUri}</a>
          </p>
        ))}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {offer && <p class="help">Your account there; the token it issues stays in this tab (session storage). Or paste a token:</p>}
    </section>
  );
}
