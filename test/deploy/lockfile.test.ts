import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface LockPackage {
  version?: string;
  optionalDependencies?: Record<string, string>;
}

const lock = JSON.parse(readFileSync(new URL('../../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, LockPackage>;
};

describe('package-lock.json', () => {
  it('lists every optional dependency, so `npm ci` accepts it on a clean clone', () => {
    // `npm install` here drops optional platform packages the registry does not serve;
    // `npm ci` then refuses the lock. Fix with: node scripts/fix-lockfile.mjs package-lock.json
    const missing: string[] = [];
    for (const [where, pkg] of Object.entries(lock.packages)) {
      for (const dep of Object.keys(pkg.optionalDependencies ?? {})) {
        const nested = `${where}/node_modules/${dep}`;
        if (!lock.packages[nested] && !lock.packages[`node_modules/${dep}`])
          missing.push(`${dep} (for ${where || 'root'})`);
      }
    }
    expect(missing).toEqual([]);
  });
});
