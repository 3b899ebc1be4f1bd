import type { Sealer } from '../../core/crypto/seal.js';
import { setTenantBotHealth } from '../../core/tenancy/bots.js';
import type { GatewayDeps } from '../bot/context.js';
import { pruneUpdates } from '../webhooks/store.js';
import type { UpdateWorker } from '../webhooks/worker.js';
import { type DesiredBot, loadDesiredBots } from './desired.js';
import { type BotRun, describeFailure, startPolling, startWebhook } from './drivers.js';

/** How the manager runs bots; every field has a production default. */
export interface BotManagerOptions {
  /** How often the database is read for bots to start or stop (default 5 s). */
  reconcileIntervalMs?: number;
  /** First delay before a failed bot is tried again; it doubles per failure (default 15 s). */
  retryBaseMs?: number;
  /** Longest delay between tries of a failing bot (default 30 min). */
  retryMaxMs?: number;
  /** How long a stopping bot may finish the updates it is processing (default 5 s). */
  stopGraceMs?: number;
  /** Bots started at once, so a restart with hundreds of bots does not flood Telegram (default 16). */
  startConcurrency?: number;
}

/** Where the manager's bots get their updates from. */
export type Intake = { mode: 'polling' } | { mode: 'webhook'; worker: UpdateWorker; baseUrl: string };

/** A bot as the manager sees it, for logs, tests and the benchmark. */
export interface BotStatus {
  key: string;
  label: string;
  phase: 'starting' | 'running' | 'retrying';
  failures: number;
  reason: string | undefined;
  retryAt: number | undefined;
}

interface Entry {
  desired: DesiredBot;
  phase: BotStatus['phase'];
  /** Bumped whenever the entry's current start or run is abandoned; late results are ignored. */
  generation: number;
  failures: number;
  retryAt: number;
  reason: string | undefined;
  abort: AbortController | undefined;
  run: BotRun | undefined;
}

const PRUNE_EVERY_MS = 3_600_000;

/**
 * Runs the platform bot and every active tenant's white-label bot in one process, and keeps
 * that set equal to what the database says without a restart: every few seconds it reads
 * the bots that should run (tenant active, bot not disabled, token version) and starts or
 * stops the difference. A bot whose start or run fails (a revoked token: 401) is stopped,
 * marked `unhealthy` with the reason, and tried again with exponential backoff; nothing it
 * does touches another bot.
 */
export class BotManager {
  private readonly entries = new Map<string, Entry>();
  /** Per key, the stop still in progress; a new start of the key waits for it. */
  private readonly stopping = new Map<string, Promise<void>>();
  private readonly opts: Required<BotManagerOptions>;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private lastPrune = 0;
  private lastSummary = '';
  private startsRunning = 0;
  private readonly startQueue: (() => void)[] = [];

  constructor(
    private readonly deps: GatewayDeps,
    private readonly sealer: Sealer,
    private readonly intake: Intake,
    opts: BotManagerOptions = {},
  ) {
    this.opts = {
      reconcileIntervalMs: opts.reconcileIntervalMs ?? 5_000,
      retryBaseMs: opts.retryBaseMs ?? 15_000,
      retryMaxMs: opts.retryMaxMs ?? 30 * 60_000,
      stopGraceMs: opts.stopGraceMs ?? 5_000,
      startConcurrency: opts.startConcurrency ?? 16,
    };
  }

  /** Starts the bots the database names now, then reconciles every `reconcileIntervalMs`. */
  start(): void {
    this.reconcile();
    this.timer = setInterval(() => this.reconcile(), this.opts.reconcileIntervalMs);
    this.timer.unref();
  }

  /** Every bot the manager knows, by key. */
  status(): BotStatus[] {
    return [...this.entries.values()].map((e) => ({
      key: e.desired.key,
      label: e.desired.label,
      phase: e.phase,
      failures: e.failures,
      reason: e.reason,
      retryAt: e.phase === 'retrying' ? e.retryAt : undefined,
    }));
  }

  /** The running grammY bot of a key (tests and the benchmark look at it). */
  running(key: string): BotRun['bot'] | undefined {
    const e = this.entries.get(key);
    return e?.phase === 'running' ? e.run?.bot : undefined;
  }

  /**
   * Compares the bots that should run with those that do: stops the ones no longer wanted
   * (or whose token changed), starts new ones and those whose retry time has come.
   */
  reconcile(): void {
    if (this.closed) return;
    const { logger, db } = this.deps;
    try {
      const wanted = new Map(loadDesiredBots(db, this.sealer, this.deps.config).map((d) => [d.key, d]));
      for (const [key, e] of this.entries) {
        const d = wanted.get(key);
        if (!d || d.version !== e.desired.version) this.remove(e, { unset: !d });
      }
      const now = Date.now();
      for (const d of wanted.values()) {
        const e = this.entries.get(d.key);
        if (!e) this.launch(this.newEntry(d));
        else {
          e.desired = d; // same token; the username may have changed
          if (e.phase === 'retrying' && now >= e.retryAt) this.launch(e);
        }
      }
      this.logSummary();
      if (now - this.lastPrune > PRUNE_EVERY_MS) {
        this.lastPrune = now;
        const pruned = pruneUpdates(db, now - 86_400_000, now - 7 * 86_400_000);
        if (pruned) logger.info({ pruned }, 'pruned stored telegram updates');
      }
    } catch (err) {
      logger.error({ err }, 'reconciling telegram bots failed; trying again at the next interval');
    }
  }

  /** Logs how many bots run, start and wait for a retry, whenever those numbers change. */
  private logSummary(): void {
    const counts = { running: 0, starting: 0, retrying: 0 };
    for (const e of this.entries.values()) counts[e.phase]++;
    const summary = `${counts.running}/${counts.starting}/${counts.retrying}`;
    if (summary === this.lastSummary) return;
    this.lastSummary = summary;
    this.deps.logger.info({ ...counts, mode: this.intake.mode }, 'telegram bots');
  }

  /** Stops every bot (webhooks stay set, so Telegram keeps updates for the next start). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const e of [...this.entries.values()]) this.remove(e, { unset: false });
    await Promise.allSettled([...this.stopping.values()]);
  }

  private newEntry(desired: DesiredBot): Entry {
    return {
      desired,
      phase: 'starting',
      generation: 0,
      failures: 0,
      retryAt: 0,
      reason: undefined,
      abort: undefined,
      run: undefined,
    };
  }

  /** Starts an entry's bot (queued behind at most `startConcurrency` other starts). */
  private launch(e: Entry): void {
    const key = e.desired.key;
    const gen = ++e.generation;
    const abort = new AbortController();
    e.phase = 'starting';
    e.abort = abort;
    this.entries.set(key, e);
    const current = () => gen === e.generation && !this.closed;
    void this.withStartSlot(async () => {
      await this.stopping.get(key);
      if (!current()) return;
      try {
        const req = {
          desired: e.desired,
          deps: this.deps,
          signal: abort.signal,
          onFailure: (err: unknown) => this.fail(e, gen, err),
        };
        const run =
          this.intake.mode === 'polling'
            ? await startPolling(req)
            : await startWebhook(req, this.intake.worker, this.intake.baseUrl);
        if (!current()) {
          this.stopRun(key, run, { graceMs: 0, unset: false });
          return;
        }
        const recovered = e.failures > 0;
        e.run = run;
        e.phase = 'running';
        e.failures = 0;
        e.reason = undefined;
        if (e.desired.tenantBot) {
          const { tenantId, botId } = e.desired.tenantBot;
          setTenantBotHealth(this.deps.db, tenantId, botId, { status: 'active' });
        }
        // Hundreds of bots start at once: one line each only when it is news.
        const log = recovered
          ? this.deps.logger.info.bind(this.deps.logger)
          : this.deps.logger.debug.bind(this.deps.logger);
        log(
          { bot: e.desired.label, key, mode: this.intake.mode },
          recovered ? 'telegram bot recovered' : 'telegram bot started',
        );
      } catch (err) {
        this.fail(e, gen, err);
      }
    });
  }

  /** A start or a run failed: stop it, record why, and schedule the next try. */
  private fail(e: Entry, gen: number, err: unknown): void {
    if (gen !== e.generation || this.closed || this.entries.get(e.desired.key) !== e) return;
    e.generation++;
    const run = e.run;
    e.run = undefined;
    e.abort?.abort();
    e.failures++;
    const delay = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** (e.failures - 1));
    e.retryAt = Date.now() + Math.round(delay * (0.8 + 0.4 * Math.random()));
    e.phase = 'retrying';
    e.reason = describeFailure(err);
    this.deps.logger.warn(
      { bot: e.desired.label, key: e.desired.key, reason: e.reason, failures: e.failures, retryInMs: delay },
      'telegram bot failed; it is stopped and will be tried again',
    );
    if (e.desired.tenantBot) {
      const { tenantId, botId } = e.desired.tenantBot;
      try {
        setTenantBotHealth(this.deps.db, tenantId, botId, { status: 'unhealthy', reason: e.reason });
      } catch (dbErr) {
        this.deps.logger.error({ err: dbErr, key: e.desired.key }, 'recording an unhealthy bot failed');
      }
    }
    // A refused token cannot send anything useful; no grace.
    if (run) this.stopRun(e.desired.key, run, { graceMs: 0, unset: false });
  }

  /** Forgets an entry and stops its bot; `unset` removes its webhook (the bot is going away). */
  private remove(e: Entry, opts: { unset: boolean }): void {
    const key = e.desired.key;
    if (this.entries.get(key) === e) this.entries.delete(key);
    e.generation++;
    e.abort?.abort();
    const run = e.run;
    e.run = undefined;
    if (run) {
      this.deps.logger.info({ bot: e.desired.label, key }, 'stopping telegram bot');
      this.stopRun(key, run, { graceMs: this.opts.stopGraceMs, unset: opts.unset });
    }
  }

  /** Stops a run after any earlier stop of the same key, and remembers it until done. */
  private stopRun(key: string, run: BotRun, opts: { graceMs: number; unset: boolean }): void {
    const before = this.stopping.get(key) ?? Promise.resolve();
    const done: Promise<void> = before
      .then(() => run.stop(opts))
      .catch((err: unknown) => this.deps.logger.warn({ err, key }, 'stopping a telegram bot failed'))
      .finally(() => {
        if (this.stopping.get(key) === done) this.stopping.delete(key);
      });
    this.stopping.set(key, done);
  }

  /** Runs `task` when fewer than `startConcurrency` starts are under way. */
  private async withStartSlot(task: () => Promise<void>): Promise<void> {
    if (this.startsRunning >= this.opts.startConcurrency) {
      await new Promise<void>((resolve) => this.startQueue.push(resolve));
    } else this.startsRunning++;
    try {
      await task();
    } catch (err) {
      this.deps.logger.error({ err }, 'starting a telegram bot failed unexpectedly');
    } finally {
      const next = this.startQueue.shift();
      if (next) next();
      else this.startsRunning--;
    }
  }
}
