/**
 * Sign-in: at the gateway's identity provider when it offers one (oauth-sign-in.tsx), or by pasting a
 * token; either is checked against the gateway before it is kept (in this tab only).
 */
import { useState } from 'preact/hooks';
import { ApiError, GatewayApi } from '../lib/api.js';
import type { Callback } from '../lib/oauth-callback.js';
import { normalizeToken } from '../lib/token-store.js';
import { OAuthSignIn } from './oauth-sign-in.js';

export function SignIn({ notice, callback, onSignedIn }: { notice?: string; callback?: Callback; onSignedIn: (token: string) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    const token = normalizeToken(value);
    if (!token) {
      setError('Paste a token (a JWT, without spaces).');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await new GatewayApi(token, (input, init) => fetch(input, init)).listSessions();
      onSignedIn(token);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : 'The gateway could not be reached.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="signin">
      <h1>Gateway console</h1>
      <p>Tunnels, their servers and their traffic, live. Sign in with a token of this gateway.</p>
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      <OAuthSignIn callback={callback} onSignedIn={onSignedIn} />
      <form onSubmit={(e) => void submit(e)}>
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          spellcheck={false}
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          aria-describedby="token-help"
          aria-invalid={error ? true : undefined}
          required
        />
        <p id="token-help" class="help">
          An admin token sees every tunnel; a user token sees its own and those shared with it. From the gateway's directory:{' '}
          <code>npm run token -- --sub you@example.com</code>. The token stays in this tab (session storage) and goes only to this gateway.
        </p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
