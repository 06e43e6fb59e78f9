import { readFileSync } from 'node:fs';

/** The gateway's name and version, from package.json (the one place they are written). */
export interface PackageInfo {
  name: string;
  version: string;
}

/** Read once at start-up; src/ and dist/ both sit two levels below package.json. */
export const PACKAGE_INFO: PackageInfo = readPackageInfo();

function readPackageInfo(): PackageInfo {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as Partial<PackageInfo>;
  return { name: pkg.name ?? 'mcp-tunnel-gateway', version: pkg.version ?? '0.0.0' };
}
