import { expect } from '@jest/globals';
import { ConfigError, loadConfig } from '../../src/config/app-config.js';

/** The problems loadConfig reports for an environment (fails when it does not throw). */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected loadConfig to refuse this environment');
}
