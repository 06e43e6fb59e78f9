import { ConfigError, loadConfig } from '../../src/config/app-config.js';

const SECRET = 'a-secret-of-sixteen-chars';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
}

test('METRICS_TOKEN is optional: unset, /metrics is open', () => {
  expect(loadConfig({ JWT_SECRET: SECRET }).metrics).toEqual({ token: undefined });
  expect(loadConfig({ JWT_SECRET: SECRET, METRICS_TOKEN: '  ' }).metrics).toEqual({ token: undefined });
});

test('a METRICS_TOKEN that is short or holds spaces is refused at start-up', () => {
  const refusal = 'METRICS_TOKEN must be at least 16 printable characters, without spaces';
  expect(problems({ JWT_SECRET: SECRET, METRICS_TOKEN: 'short' })).toEqual([refusal]);
  expect(problems({ JWT_SECRET: SECRET, METRICS_TOKEN: 'has a space 0123456789' })).toEqual([refusal]);
  expect(problems({ JWT_SECRET: SECRET, METRICS_TOKEN: 'ümlaut-0123456789abc' })).toEqual([refusal]);
  expect(loadConfig({ JWT_SECRET: SECRET, METRICS_TOKEN: ' 0123456789abcdef ' }).metrics.token).toBe('0123456789abcdef');
});
