import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The thread's code. It is plain CommonJS evaluated as a string, so the same thread starts
 * under tsx, vitest and the compiled build alike (a .ts worker file would need a loader).
 */
const CHECKPOINT_THREAD = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort.postMessage({ error: String((err && err.message) || err) });
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** A thread that checkpoints the WAL of one database file. */
export interface Checkpointer {
  /**
   * Ends the thread. No last checkpoint is needed: the service's own connection, closed
   * last, checkpoints the WAL into the file as SQLite does when its last connection closes.
   */
  stop(): Promise<void>;
}

/**
 * Starts a thread with its own connection that copies the WAL into the database file every
 * `intervalMs` (a PASSIVE checkpoint: it never waits for readers or blocks writers). A
 * service whose connection does this in the background turns SQLite's automatic checkpoint
 * off, because that runs inside whichever commit crosses 1,000 pages: copying pages and an
 * fsync, up to about 13 ms on this machine's disk, on the event loop of a request.
 *
 * `onFailure` hears of a checkpoint that failed, or of a thread that could not start or
 * died; the caller then turns the automatic checkpoint back on.
 */
export function startCheckpointer(
  file: string,
  intervalMs: number,
  onFailure: (message: string, fatal: boolean) => void,
): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(CHECKPOINT_THREAD, { eval: true, workerData: { file, intervalMs, driver } });
  worker.unref();
  worker.on('message', (m: { error?: string }) => {
    if (m.error) onFailure(m.error, false);
  });
  let stopping = false;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('error', (err) => onFailure(err.message, true));
  void exited.then(() => {
    if (!stopping) onFailure('the checkpoint thread exited', true);
  });
  return {
    async stop() {
      if (stopping) return exited;
      stopping = true;
      worker.ref(); // an unref'd thread would let the process end before it has closed
      worker.postMessage('stop');
      const timer = setTimeout(() => void worker.terminate(), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
