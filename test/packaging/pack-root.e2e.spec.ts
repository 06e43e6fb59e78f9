/**
 * The root package's `npm pack`, in a copy of the repository (the shared dist/ is left alone):
 * prepack builds dist/ afresh, and the tarball holds dist/ and the README, nothing of src/, test/ or bench/.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyRepository, npm } from './packages.js';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'mcp-tunnel-gateway-pack-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('npm pack of the root package', () => {
  test('prepack builds dist/ afresh, and the tarball holds dist/ and nothing of src/, test/ or bench/', async () => {
    const copy = join(scratch, 'repo');
    copyRepository(copy);
    // Left over from an earlier build: prepack starts from an empty dist/, so it must not ship.
    mkdirSync(join(copy, 'dist'));
    writeFileSync(join(copy, 'dist/left-over.js'), 'export {};\n');

    const { stdout } = await npm(['pack', '--dry-run', '--json'], copy);
    const [packed] = JSON.parse(stdout) as { name: string; files: { path: string }[] }[];
    const files = packed.files.map((f) => f.path);

    expect(packed.name).toBe('mcp-tunnel-gateway');
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/main.js',
        'dist/client/cli.js',
        'dist/tools/token.js',
        'dist/console-ui/index.html',
      ]),
    );
    expect(files.filter((f) => f !== 'package.json' && f !== 'README.md' && !f.startsWith('dist/'))).toEqual([]);
    expect(files.filter((f) => /^dist\/(src|test|bench)\/|\.tsbuildinfo$|\.spec\./.test(f))).toEqual([]);
    expect(files).not.toContain('dist/left-over.js');
  }, 120_000);
});
