/**
 * Keeps package-lock.json installable by `npm ci` on a machine whose npm registry serves
 * only Linux builds of Biome's platform binaries. `npm install` silently leaves the other
 * platforms' optional packages out of the lock, and `npm ci` then refuses the lock as out
 * of sync. This adds them back with their os/cpu/libc fields, so `npm ci` skips them here
 * and installs them on the platforms that need them. Run after `npm install`:
 *   node scripts/fix-lockfile.mjs package-lock.json
 * test/deploy/lockfile.test.ts fails when the lock needs it.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.argv[2];
const lock = JSON.parse(readFileSync(file, 'utf8'));
const plat = {
  'cli-win32-x64': { os: ['win32'], cpu: ['x64'] },
  'cli-win32-arm64': { os: ['win32'], cpu: ['arm64'] },
  'cli-darwin-x64': { os: ['darwin'], cpu: ['x64'] },
  'cli-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  'cli-linux-x64-musl': { os: ['linux'], cpu: ['x64'], libc: ['musl'] },
  'cli-linux-arm64-musl': { os: ['linux'], cpu: ['arm64'], libc: ['musl'] },
  'cli-android-x64': { os: ['android'], cpu: ['x64'] },
  'cli-android-arm64': { os: ['android'], cpu: ['arm64'] },
};
const biome = lock.packages['node_modules/@biomejs/biome'];
for (const [name, p] of Object.entries(plat)) {
  const key = `node_modules/@biomejs/${name}`;
  if (lock.packages[key]) continue;
  lock.packages[key] = {
    version: biome.version,
    ...p,
    dev: true,
    license: 'MIT OR Apache-2.0',
    optional: true,
    engines: { node: '>=14.21.3' },
  };
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
