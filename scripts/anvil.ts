import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { type Config, ConfigError, loadConfig } from '../core/config/index.js';
import { Sealer } from '../core/crypto/seal.js';
import { type Db, databasePath, openDb } from '../core/db/index.js';
import { migrate } from '../core/db/migrate.js';
import { seedDefaultPlans } from '../core/tenancy/plans.js';
import { adminCreate, apikeyCreate, apikeyList, apikeyRevoke, inviteCreate } from './cli/access.js';
import { tenantBotRemove, tenantBotSet, tenantBotShow } from './cli/bots.js';
import { priceList, priceRemove, priceSet } from './cli/prices.js';
import { migrateCommand, planList, usageCommand } from './cli/reports.js';
import { type CliCommand, type CliContext, isExplained, parseCommandArgs, UsageError } from './cli/runtime.js';
import { tenantCreate, tenantList, tenantResume, tenantShow, tenantSuspend } from './cli/tenant.js';

/** Every command of `anvil`, as DESIGN.md names them. */
export const COMMANDS: CliCommand[] = [
  migrateCommand,
  adminCreate,
  tenantCreate,
  tenantList,
  tenantShow,
  tenantSuspend,
  tenantResume,
  tenantBotSet,
  tenantBotShow,
  tenantBotRemove,
  planList,
  priceSet,
  priceList,
  priceRemove,
  inviteCreate,
  apikeyCreate,
  apikeyList,
  apikeyRevoke,
  usageCommand,
];

/** The help text listing every command. */
export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    'usage: npm run -s anvil -- <command> [--json]',
    '',
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

/** Streams the CLI writes to; tests pass their own. */
export interface CliIo {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: () => Promise<string>;
}

/**
 * Runs one CLI invocation and returns its exit code: 0 done, 1 refused or failed (with a
 * clear message), 2 usage error. With `--json` output and errors are JSON documents.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  const cmd = COMMANDS.find((c) => c.name.split(' ').every((word, i) => argv[i] === word));
  if (!cmd) {
    const wanted = argv
      .filter((a) => !a.startsWith('-'))
      .slice(0, 2)
      .join(' ');
    if (!wanted || argv.includes('--help') || argv.includes('-h')) {
      io.stdout(helpText());
      return wanted ? 0 : 2;
    }
    return fail(io, json, new UsageError(`unknown command "${wanted}"`), helpText());
  }
  let db: Db | undefined;
  let config: Config | undefined;
  const ctx: CliContext = {
    json,
    out: io.stdout,
    readStdin: io.stdin,
    config: () => {
      if (!config) {
        config = loadConfig(io.env);
        for (const warning of config.warnings) io.stderr(`warning: ${warning}`);
      }
      return config;
    },
    db: () => {
      if (!db) {
        db = openDb(databasePath(ctx.config().dataDir));
        migrate(db);
        seedDefaultPlans(db, { chatModel: ctx.config().CHAT_MODEL, embedModel: ctx.config().EMBED_MODEL });
      }
      return db;
    },
    sealer: () => new Sealer(ctx.config().masterKey),
  };
  try {
    const { values, positionals } = parseCommandArgs(cmd, argv.slice(cmd.name.split(' ').length));
    if (values.help) {
      io.stdout(`usage: npm run -s anvil -- ${cmd.usage} [--json]\n\n${cmd.summary}`);
      return 0;
    }
    const result = await cmd.run(ctx, values, positionals);
    if (json) io.stdout(JSON.stringify(result ?? { ok: true }, null, 2));
    return 0;
  } catch (err) {
    return fail(io, json, err, `usage: npm run -s anvil -- ${cmd.usage}`);
  } finally {
    await db?.close();
  }
}

/** Prints an error the way the caller asked for and returns its exit code. */
function fail(io: CliIo, json: boolean, err: unknown, usage: string): number {
  const usageError = err instanceof UsageError;
  if (err instanceof ConfigError) {
    io.stderr(json ? JSON.stringify({ error: { code: 'invalid_config', message: err.message } }) : err.message);
    return 78;
  }
  if (!isExplained(err)) {
    io.stderr(
      json
        ? JSON.stringify({ error: { code: 'internal', message: String(err) } })
        : `error: ${(err as Error).stack ?? err}`,
    );
    return 1;
  }
  if (json) io.stderr(JSON.stringify({ error: { code: err.code, message: err.message } }));
  else io.stderr(`error: ${err.message}${usageError ? `\n${usage}` : ''}`);
  return usageError ? 2 : 1;
}

/** Reads standard input to the end. */
async function readAll(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const code = await runCli(process.argv.slice(2), {
    env: process.env,
    stdout: (t) => process.stdout.write(`${t}\n`),
    stderr: (t) => process.stderr.write(`${t}\n`),
    stdin: readAll,
  });
  process.exitCode = code;
}
