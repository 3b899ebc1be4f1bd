import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV_VARIABLES } from '../../core/config/schema.js';

const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const listed = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));

describe('.env.example and the README follow core/config', () => {
  it('.env.example lists every variable Anvil reads', () => {
    expect(ENV_VARIABLES.filter((v) => !listed.has(v))).toEqual([]);
  });

  it('.env.example lists nothing Anvil or compose does not read', () => {
    const composeOnly = ['QDRANT_API_KEY', 'MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD', 'SEARXNG_SECRET'];
    const known = new Set<string>([...ENV_VARIABLES, ...composeOnly]);
    expect([...listed].filter((v) => !known.has(v as string))).toEqual([]);
  });

  it("the README's configuration table names every variable", () => {
    expect(ENV_VARIABLES.filter((v) => !readme.includes(`\`${v}\``))).toEqual([]);
  });
});
