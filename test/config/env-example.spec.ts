import { readFileSync } from 'node:fs';
import { CONFIG_DEFAULTS } from '../../src/config/app-config.js';

// .env.example is the user's list of settings; it must name every variable with its real default.
test('.env.example lists every setting with its default', () => {
  const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
  const listed = new Map(
    text
      .split('\n')
      .filter((line) => /^[A-Z_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
  );
  for (const [key, value] of Object.entries(CONFIG_DEFAULTS)) {
    expect([key, listed.get(key)]).toEqual([key, value]);
  }
  expect([...listed.keys()].sort()).toEqual(Object.keys(CONFIG_DEFAULTS).sort());
});
