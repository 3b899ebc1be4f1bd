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

/** The line a child writes to stderr when it waits at `startTogether()`. */
const READY = '@ready\n';

/**
 * Writes `body` as an ES module script into `dir` and returns a function that runs one
 * copy of it with tsx per environment given, and reports how each ended. The script may
 * read `process.env`. `await startTogether()` holds each copy until every copy has reached
 * that line (or ended), then releases them all at once: their start-up takes seconds and
 * varies, so a fixed start time would not make them meet.
 */
export function childScript(
  dir: string,
  name: string,
  body: string,
): (envs: Record<string, string>[]) => Promise<ChildResult[]> {
  const file = path.join(dir, `${name}.mts`);
  writeFileSync(
    file,
    [
      'const startTogether = () =>',
      '  new Promise<void>((resolve) => {',
      "    process.stdin.once('data', () => {",
      '      process.stdin.destroy();',
      '      resolve();',
      '    });',
      `    process.stderr.write(${JSON.stringify(READY)});`,
      '  });',
      body,
    ].join('\n'),
  );
  return (envs) => {
    const children = envs.map((env) =>
      spawn(path.resolve('node_modules/.bin/tsx'), [file], { env: { PATH: process.env.PATH, ...env } }),
    );
    let waiting = children.length;
    const arrived = () => {
      if (--waiting > 0) return;
      for (const child of children) if (child.exitCode === null) child.stdin.end('go\n');
    };
    return Promise.all(
      children.map(
        (child) =>
          new Promise<ChildResult>((resolve) => {
            let stdout = '';
            let stderr = '';
            let counted = false;
            const count = () => {
              if (!counted) {
                counted = true;
                arrived();
              }
            };
            child.stdin.on('error', () => {}); // a child that ended early closed its stdin
            child.stdout.on('data', (d) => {
              stdout += d;
            });
            child.stderr.on('data', (d) => {
              stderr += d;
              if (stderr.includes(READY)) {
                stderr = stderr.replace(READY, '');
                count();
              }
            });
            child.on('close', (code) => {
              count();
              resolve({ code, stdout, stderr });
            });
          }),
      ),
    );
  };
}
