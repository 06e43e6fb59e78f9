/**
 * Reads a tunnel config file. YAML is a superset of JSON, so one parser serves both; the
 * extension only picks the friendlier error message.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, parseConfigFile } from './config.js';

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`Cannot read the config file ${path}: ${(err as Error).message}`);
  }
  let content: unknown;
  try {
    content = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`The config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  return parseConfigFile(content, path);
}

/** A token file holds one token; more than this is not one (and a device like /dev/zero is not read forever). */
export const TOKEN_FILE_MAX_BYTES = 64 * 1024;

/** Reads the token from a file (--token-file, `tokenFile`): its content, trimmed; empty or oversized files are refused. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(TOKEN_FILE_MAX_BYTES + 1);
      let length = 0;
      while (length < buffer.length) {
        const read = readSync(fd, buffer, length, buffer.length - length, null);
        if (read === 0) break;
        length += read;
      }
      if (length > TOKEN_FILE_MAX_BYTES) throw new ConfigError(`The token file ${path} is larger than ${TOKEN_FILE_MAX_BYTES} bytes`);
      text = buffer.toString('utf8', 0, length);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`Cannot read the token file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const token = text.trim();
  if (token === '') throw new ConfigError(`The token file ${path} is empty`);
  return token;
}
