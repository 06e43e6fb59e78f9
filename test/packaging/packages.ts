/**
 * Helpers for the packaging specs: npm as a child process, a repository copy to pack without touching
 * the shared dist/, and the size of an installed folder.
 */
import { execFile } from 'node:child_process';
import { cpSync, lstatSync, readdirSync, symlinkSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root (jest runs from it). */
export const ROOT = process.cwd();

/** What a packed or installed program gets: no inherited module paths or tunnel settings. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('REVERSE_PROXY_') && key !== 'NODE_PATH' && key !== 'NODE_OPTIONS'),
  );
}

/** Runs npm in `cwd`; rejects with its output when it exits non-zero. */
export async function npm(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run('npm', args, { cwd, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(' ')} failed in ${cwd}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`, { cause: err });
  }
}

/** Bytes of every file under `dir` (symlinks count as themselves, not what they point at). */
export function sizeOf(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? sizeOf(path) : lstatSync(path).size;
  }
  return total;
}

/** Every file path under `dir`, relative to it. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

/**
 * Copies the repository into `target` without its build output and git data, with node_modules linked
 * rather than copied: `npm pack` there runs prepack against a tree of its own.
 */
export function copyRepository(target: string): void {
  const skip = new Set(['node_modules', 'dist', '.git', '.packs', 'coverage']);
  cpSync(ROOT, target, { recursive: true, filter: (path) => !skip.has(relative(ROOT, path).split(sep)[0]) });
  symlinkSync(join(ROOT, 'node_modules'), join(target, 'node_modules'), 'dir');
}
