/**
 * Compiles the benchmark's child processes (and the Anvil code they import) with tsc into
 * bench/results/proxy-build, so Anvil runs as the image runs it (`node dist/…`), without
 * tsx's loader thread in its memory. BENCH_RUNTIME=tsx runs the sources instead.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';

/** How to start a child entry point of bench/proxy/ (`anvil-child`, `fake-child`). */
export type Launcher = (entry: string) => { command: string; args: string[] };

/** Builds the children (unless BENCH_RUNTIME=tsx) and says how to start them. */
export function prepareChildren(root: string, results: string): Launcher {
  if (process.env.BENCH_RUNTIME === 'tsx') {
    return (entry) => ({ command: process.execPath, args: ['--import', 'tsx', `${root}bench/proxy/${entry}.ts`] });
  }
  const out = `${results}proxy-build`;
  const config = `${results}proxy-tsconfig.json`;
  rmSync(out, { recursive: true, force: true });
  writeFileSync(
    config,
    JSON.stringify({
      extends: '../../tsconfig.build.json',
      compilerOptions: { outDir: './proxy-build', rootDir: '../..', sourceMap: false },
      include: [
        '../../bench/proxy/anvil-child.ts',
        '../../bench/proxy/bare-child.ts',
        '../../bench/proxy/fake-child.ts',
      ],
    }),
  );
  const tsc = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, '-p', config], {
    encoding: 'utf8',
  });
  // tsc emits even when another part of the tree does not typecheck; only a missing entry stops us.
  if (!existsSync(`${out}/bench/proxy/anvil-child.js`)) {
    throw new Error(`bench: the build failed (BENCH_RUNTIME=tsx runs the sources instead)\n${tsc.stdout}`);
  }
  if (tsc.status !== 0) process.stderr.write(`bench: tsc reported problems, using its output anyway\n${tsc.stdout}`);
  cpSync(`${root}core/db/migrations`, `${out}/core/db/migrations`, { recursive: true });
  return (entry) => ({ command: process.execPath, args: [`${out}/bench/proxy/${entry}.js`] });
}
