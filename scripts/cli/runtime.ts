import { type ParseArgsConfig, parseArgs } from 'node:util';
import type { Config } from '../../core/config/index.js';
import type { Sealer } from '../../core/crypto/seal.js';
import type { Db } from '../../core/db/index.js';
import { AnvilError, ValidationError } from '../../core/errors.js';

/** What every CLI command receives. */
export interface CliContext {
  /** Opens (and migrates) the database on first use; `migrate` and `--help` never need it. */
  db(): Db;
  config(): Config;
  sealer(): Sealer;
  /** `--json` was given: print one JSON document instead of text. */
  json: boolean;
  out: (text: string) => void;
  /** Reads standard input to the end (for `--password-stdin`). */
  readStdin(): Promise<string>;
}

/** A command: parses its own flags, does its work, prints. */
export interface CliCommand {
  /** e.g. "tenant create". */
  name: string;
  usage: string;
  summary: string;
  options: NonNullable<ParseArgsConfig['options']>;
  /** How many positional arguments it takes (e.g. the slug of `tenant show S`). */
  positionals?: string[];
  run(ctx: CliContext, values: Record<string, string | boolean | undefined>, positionals: string[]): Promise<unknown>;
}

/** A usage mistake (unknown flag, missing argument): exit code 2 and the command's usage. */
export class UsageError extends ValidationError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, 'usage');
  }
}

/** Parses a command's flags strictly: unknown flags and missing values are usage errors. */
export function parseCommandArgs(cmd: CliCommand, argv: string[]) {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...cmd.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify.*$/s, ''));
  }
  const expected = cmd.positionals ?? [];
  if (!parsed.values.help && parsed.positionals.length !== expected.length) {
    throw new UsageError(
      expected.length
        ? `expected ${expected.join(' ')}, got ${parsed.positionals.length ? parsed.positionals.join(' ') : 'nothing'}`
        : `unexpected argument "${parsed.positionals[0]}"`,
    );
  }
  return parsed as { values: Record<string, string | boolean | undefined>; positionals: string[] };
}

/** A required string flag, or a usage error naming it. */
export function required(values: Record<string, string | boolean | undefined>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** An optional string flag. */
export function optionalString(values: Record<string, string | boolean | undefined>, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** Formats rows as an aligned text table. */
export function table(headers: string[], rows: (string | number | null)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (c ?? '').padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Formats a whole number with thousands separators. */
export const num = (n: number | null): string => (n === null ? 'unlimited' : n.toLocaleString('en-US'));

/** An ISO date-time for a stored epoch-ms time. */
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Whether an error is one the CLI explains rather than a bug. */
export const isExplained = (err: unknown): err is AnvilError => err instanceof AnvilError;
