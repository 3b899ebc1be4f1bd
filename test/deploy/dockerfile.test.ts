import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * Invariants of the Dockerfile, read as text. Each check returns the problems it finds and
 * is also run against a broken copy to prove it can fail.
 */

const root = new URL('../../', import.meta.url);
const dockerfileText = readFileSync(new URL('Dockerfile', root), 'utf8');
const dockerignoreText = readFileSync(new URL('.dockerignore', root), 'utf8');

interface Stage {
  /** The image or earlier stage it starts from. */
  from: string;
  name?: string;
  /** Its instructions (continuation lines joined, comments dropped), FROM excluded. */
  instructions: string[];
}

/** Splits a Dockerfile into stages of logical instructions. */
function stages(text: string): Stage[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const result: Stage[] = [];
  for (const line of lines) {
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      result.push({ from: from[1] ?? '', name: from[2]?.toLowerCase(), instructions: [] });
    } else {
      result.at(-1)?.instructions.push(line.replace(/\s+/g, ' '));
    }
  }
  return result;
}

const instructionsOf = (stage: Stage | undefined, keyword: string): string[] =>
  (stage?.instructions ?? []).filter((i) => i.toUpperCase().startsWith(`${keyword} `));

function checkStages(text: string): string[] {
  const all = stages(text);
  const problems: string[] = [];
  if (all.length < 2) problems.push('not multi-stage');
  const names = new Set(all.map((s) => s.name).filter(Boolean));
  for (const stage of all) {
    if (names.has(stage.from.toLowerCase())) continue; // an earlier stage
    if (!/^node:24-[a-z]+-slim(@sha256:[0-9a-f]{64})?$/.test(stage.from)) {
      problems.push(`base ${stage.from} is not a pinned Node 24 slim image`);
    }
  }
  return problems;
}

function checkBuilder(text: string): string[] {
  const all = stages(text);
  const problems: string[] = [];
  const builders = all.slice(0, -1);
  const runs = builders.flatMap((s) => instructionsOf(s, 'RUN')).join('\n');
  for (const tool of ['python3', 'make', 'g++']) {
    if (!new RegExp(`apt-get install[^\\n]*\\s${tool.replace('+', '\\+')}(\\s|$)`).test(runs)) {
      problems.push(`builder does not install ${tool}`);
    }
  }
  if (!/\bnpm ci\b/.test(runs)) problems.push('builder does not run npm ci');
  if (!/\bnpm run build\b/.test(runs)) problems.push('builder does not run npm run build');
  if (!/\bnpm prune --omit=dev\b/.test(runs) && !/\bnpm ci\b[^\n]*--omit=dev/.test(runs)) {
    problems.push('dev dependencies are never dropped');
  }
  return problems;
}

function checkRuntime(text: string): string[] {
  const all = stages(text);
  const final = all.at(-1);
  const problems: string[] = [];
  const names = new Set(all.map((s) => s.name).filter(Boolean));
  if (!final) return ['no stages'];
  if (names.has(final.from.toLowerCase())) {
    problems.push(`final stage starts from stage ${final.from} instead of a clean base image`);
  }

  const user = instructionsOf(final, 'USER').at(-1)?.split(' ')[1];
  if (!user || /^(root|0)(:|$)/.test(user)) problems.push(`final stage runs as ${user ?? 'root'}`);

  const env = instructionsOf(final, 'ENV').join(' ');
  if (!/\bNODE_ENV=production\b/.test(env)) problems.push('final stage does not set NODE_ENV=production');

  const runs = instructionsOf(final, 'RUN').join('\n');
  if (/\bnpm (ci|install|i)\b/.test(runs) && !/--omit=dev/.test(runs)) {
    problems.push('final stage installs dependencies with dev dependencies');
  }
  if (!/\bchown\b[^\n]*\bnode\b[^\n]*\/data\b/.test(runs)) problems.push('/data is not owned by node');

  const copies = instructionsOf(final, 'COPY');
  const copied = copies.map((c) => {
    const from = /--from=(\S+)/.exec(c)?.[1];
    const parts = c.split(' ').filter((p) => !p.startsWith('--'));
    return { from, sources: parts.slice(1, -1) };
  });
  for (const { from, sources } of copied) {
    if (!from) problems.push(`final stage copies from the build context: ${sources.join(' ')}`);
  }
  const sources = copied.flatMap((c) => c.sources.map((s) => s.replace(/^\/app\//, '').replace(/\/$/, '')));
  for (const wanted of ['dist', 'node_modules', 'package.json']) {
    if (!sources.includes(wanted)) problems.push(`final stage does not copy ${wanted}`);
  }
  const extra = sources.filter((s) => !['dist', 'node_modules', 'package.json'].includes(s));
  if (extra.length) problems.push(`final stage copies more than it needs: ${extra.join(' ')}`);

  const exposed = instructionsOf(final, 'EXPOSE').flatMap((e) => e.split(' ').slice(1));
  for (const port of ['8080', '8081', '11435']) {
    if (!exposed.includes(port)) problems.push(`final stage does not expose ${port}`);
  }
  const cmd = instructionsOf(final, 'CMD').at(-1) ?? '';
  if (!/^CMD \[\s*"node",\s*"dist\/app\/main\.js"\s*\]$/.test(cmd)) problems.push(`default command is ${cmd}`);
  return problems;
}

describe('Dockerfile', () => {
  it('is multi-stage on a pinned Node 24 slim base, never :latest', () => {
    expect(checkStages(dockerfileText)).toEqual([]);
    expect(dockerfileText).not.toMatch(/^FROM\s+\S+:latest\b/im);

    const broken = dockerfileText
      .replace(/^FROM node:24-bookworm-slim AS build/m, 'FROM node:latest AS build')
      .replace(/^FROM node:24-bookworm-slim AS runtime/m, 'FROM node AS runtime');
    expect(broken).not.toBe(dockerfileText);
    expect(checkStages(broken)).toEqual([
      'base node:latest is not a pinned Node 24 slim image',
      'base node is not a pinned Node 24 slim image',
    ]);
    expect(checkStages('FROM node:24-bookworm-slim\nRUN npm ci\n')).toEqual(['not multi-stage']);
  });

  it('builds in the builder: toolchain for better-sqlite3, npm ci, build, prune', () => {
    expect(checkBuilder(dockerfileText)).toEqual([]);

    const broken = dockerfileText.replace(/ make g\+\+/, '').replace(/npm prune --omit=dev/, 'true');
    expect(checkBuilder(broken)).toEqual([
      'builder does not install make',
      'builder does not install g++',
      'dev dependencies are never dropped',
    ]);
  });

  it('ships only dist, production node_modules and package.json, as a non-root user', () => {
    expect(checkRuntime(dockerfileText)).toEqual([]);

    const broken = dockerfileText
      .replace(/^USER node$/m, 'USER root')
      .replace(/NODE_ENV=production/, 'NODE_ENV=development')
      .replace(/^CMD .*$/m, 'COPY . .\nRUN npm ci\nCMD ["node", "dist/app/main.js"]');
    expect(checkRuntime(broken)).toEqual(
      expect.arrayContaining([
        'final stage runs as root',
        'final stage does not set NODE_ENV=production',
        'final stage installs dependencies with dev dependencies',
        'final stage copies from the build context: .',
      ]),
    );
    const fromBuilder = dockerfileText.replace(/^FROM node:24-bookworm-slim AS runtime/m, 'FROM build AS runtime');
    expect(checkRuntime(fromBuilder)).toContain('final stage starts from stage build instead of a clean base image');
  });

  it('keeps secrets, local modules and data out of the build context', () => {
    const ignored = dockerignoreText
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', 'data', '.env', '.git']));
  });
});
