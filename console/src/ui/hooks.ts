/** Small hooks the views share: the hash route, polling. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { routeOf, type Route } from '../lib/routes.js';

/** The route in the location hash, following its changes. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(location.hash));
  useEffect(() => {
    const onChange = (): void => setRoute(routeOf(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/**
 * Runs `task` now and every `ms` after the previous run finished (never two at once), until the
 * component goes or `deps` change.
 */
export function usePoll(task: (signal: AbortSignal) => Promise<void>, ms: number, deps: unknown[]): void {
  const latest = useRef(task);
  latest.current = task;
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        await latest.current(abort.signal);
      } finally {
        if (!abort.signal.aborted) timer = setTimeout(() => void run(), ms);
      }
    };
    void run();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, deps);
}
