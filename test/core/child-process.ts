import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** What a child process printed and how it ended. */
export interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Absolute path of a core module, for `import` lines of child scripts. */
export const coreModule = (relative: string): string => JSON.stringify(path.resolve('core', relative));

/**
 * Writes `body` as an ES module script into `dir` and returns a function that runs it with
 * tsx. The script may read `process.env`; `START_AT` (epoch ms) lets several copies start
 * their work at the same instant after their slow start-up: `await startTogether()`.
 */
export function childScript(
  dir: string,
  name: string,
  body: string,
): (env: Record<string, string>) => Promise<ChildResult> {
  const file = path.join(dir, `${name}.mts`);
  writeFileSync(
    file,
    [
      'const startTogether = async () => {',
      '  const wait = Number(process.env.START_AT) - Date.now();',
      '  if (wait > 0) await new Promise((r) => setTimeout(r, wait));',
      '};',
      body,
    ].join('\n'),
  );
  return (env) =>
    new Promise((resolve) => {
      const child = spawn(path.resolve('node_modules/.bin/tsx'), [file], {
        env: { PATH: process.env.PATH, ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
}
