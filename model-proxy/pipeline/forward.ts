import type { ServerResponse } from 'node:http';
import type { UsageStatus } from '../../core/db/schema.js';
import type { UsageLedger } from '../../core/usage/ledger.js';
import { NdjsonLines } from '../metering/lines.js';
import { type MeterResult, NdjsonMeter } from '../metering/ndjson-meter.js';
import { NO_TOKENS, recordUsage } from '../metering/recorder.js';
import type { ProxyMetrics } from '../metrics.js';
import type { Admission, Dispatcher, Forwarded, ForwardSpec, Lease, Pricer, StreamEncoder } from './types.js';
import { BeforeFirstByteError, collect, openUpstream, type Upstream } from './upstream.js';

/** What the pipeline needs. */
export interface PipelineDeps {
  ledger: UsageLedger;
  dispatcher: Dispatcher;
  admission: Admission;
  price: Pricer;
  metrics: ProxyMetrics;
  /** Backends tried for one request when they fail before the first byte. */
  maxAttempts: number;
}

/**
 * Forwards one metered request: reserve budget → wait for a fair slot → open the backend
 * (retrying on another backend while no byte has arrived) → pass the answer through the
 * meter → write the ledger row, settle the reservation and free the slot, exactly once.
 */
export async function forward(deps: PipelineDeps, spec: ForwardSpec): Promise<Forwarded> {
  const { caller } = spec;
  const reservation = deps.admission.reserve(
    { tenantId: caller.tenant.id, userId: caller.userId, apiKeyId: caller.apiKeyId, endpoint: spec.endpoint },
    { tokens: spec.promptEstimate + spec.maxCompletion },
  );
  const startedAt = Date.now();
  const meter = new NdjsonMeter(spec.promptEstimate);
  const exclude = new Set<string>();
  let lease: Lease | undefined;
  let upstream: Upstream | undefined;
  let settled = false;

  /** Records the request once, whatever way it ended. */
  const settle = (
    status: UsageStatus,
    counts: Pick<MeterResult, 'promptTokens' | 'completionTokens' | 'exact'>,
    error: string | null,
  ) => {
    if (settled) return;
    settled = true;
    const cost = deps.price(caller.limits.planId, spec.model, counts.promptTokens, counts.completionTokens);
    recordUsage(
      deps.ledger,
      spec.log,
      {
        requestId: spec.requestId,
        caller,
        model: spec.model,
        endpoint: spec.endpoint,
        backend: lease?.backend.name ?? null,
        startedAt,
      },
      status,
      counts,
      error,
      cost,
    );
    reservation.settle(counts.promptTokens + counts.completionTokens);
    lease?.release();
    deps.metrics.finished(spec, status, counts, (Date.now() - startedAt) / 1000);
  };

  try {
    for (let attempt = 1; ; attempt++) {
      lease = await deps.dispatcher.acquire({
        tenantId: caller.tenant.id,
        weight: caller.limits.weight,
        maxConcurrent: caller.limits.maxConcurrent,
        model: spec.model,
        exclude,
        signal: spec.clientSignal,
      });
      deps.metrics.waited(spec, lease.waitedMs / 1000);
      try {
        upstream = await openUpstream(lease.backend.url, spec.backendPath, spec.payload, spec.clientSignal);
        break;
      } catch (err) {
        const retryable = err instanceof BeforeFirstByteError && !spec.clientSignal.aborted;
        lease.release({ failed: retryable, error: err });
        if (!retryable || attempt >= deps.maxAttempts) throw err;
        spec.log.warn(
          { requestId: spec.requestId, backend: lease.backend.name, err: (err as Error).message },
          'backend failed before the first byte; retrying on another',
        );
        exclude.add(lease.backend.name);
        lease = undefined;
      }
    }
  } catch (err) {
    if (lease) settle(spec.clientSignal.aborted ? 'aborted' : 'error', NO_TOKENS, (err as Error).message);
    else {
      // Never reached a backend (queue timeout, client gone while waiting): nothing to bill.
      reservation.cancel();
      deps.metrics.refused(spec, err);
    }
    throw err;
  }

  const up = upstream;
  if (!spec.stream) {
    try {
      const text = await collect(up.body);
      const json = JSON.parse(text) as Record<string, unknown>;
      meter.whole(json, spec.backendPath === '/api/embed');
      const r = meter.result();
      settle(r.error ? 'error' : 'ok', r, r.error);
      return { kind: 'json', json, text };
    } catch (err) {
      const r = meter.result();
      settle(spec.clientSignal.aborted ? 'aborted' : 'error', r, (err as Error).message);
      throw err;
    }
  }
  const firstByte = () => deps.metrics.firstByte(spec, (Date.now() - startedAt) / 1000);
  return {
    kind: 'stream',
    relay: (out, encoder) => relay(up, meter, settle, firstByte, spec, out, encoder),
  };
}

/** The line a native (Ollama API) stream ends with when the backend fails mid-answer. */
const ollamaFailure = (message: string) => `${JSON.stringify({ error: message })}\n`;

/**
 * Relays the backend's NDJSON to the client as it arrives, node stream to node stream, while
 * the meter reads every line: the bytes themselves on the Ollama API, the encoder's text
 * (OpenAI SSE) otherwise. A slow client pauses the backend's socket (backpressure). When
 * the client goes away, the backend is asked to stop and what it already sent is still
 * read and counted (not forwarded), so the ledger has exactly what it produced.
 */
function relay(
  up: Upstream,
  meter: NdjsonMeter,
  settle: (status: UsageStatus, counts: MeterResult, error: string | null) => void,
  onFirstByte: () => void,
  spec: ForwardSpec,
  out: ServerResponse,
  encoder: StreamEncoder | undefined,
): void {
  const body = up.body;
  const lines = new NdjsonLines();
  let first = true;
  let clientGone = false;
  /** The backend's response ended (or failed): nothing more will be read. */
  let over = false;
  let text = '';
  const encode = (line: unknown) => {
    meter.observe(line);
    if (encoder) text += encoder.line(line);
  };
  const finish = (status: 'ok' | 'aborted') => {
    const r = meter.result();
    if (r.error) return settle('error', r, r.error);
    if (status === 'ok' && !r.done) return settle('error', r, 'the stream ended before the final chunk');
    settle(status, r, null);
  };

  out.on('close', () => {
    if (out.writableFinished || over) return;
    clientGone = true;
    up.stop();
    body.resume(); // keep reading (and counting) what the backend already sent
  });
  out.on('drain', () => body.resume());
  body.on('data', (bytes: Buffer) => {
    if (first) {
      first = false;
      onFirstByte();
    }
    text = '';
    lines.push(bytes, encoder ? encode : meter.observe);
    if (clientGone || (encoder && text === '')) return;
    if (!out.write(encoder ? text : bytes)) body.pause();
  });
  body.on('end', () => {
    over = true;
    text = '';
    lines.end(encoder ? encode : meter.observe);
    finish(clientGone ? 'aborted' : 'ok');
    if (!clientGone) out.end(encoder ? text + encoder.end() : undefined);
  });
  const failed = (reason: string) => {
    if (over) return;
    over = true;
    if (clientGone) return finish('aborted'); // the backend cut the connection after the stop
    const message = `the model backend failed mid-answer: ${reason}`;
    spec.log.warn({ requestId: spec.requestId, reason }, 'backend stream failed');
    settle('error', meter.result(), message);
    out.end(encoder ? encoder.failure(message) : ollamaFailure(message));
  };
  body.on('error', (err) => failed(err.message));
  // Whatever else ends the backend's response early (a destroyed socket) settles it too.
  body.on('close', () => failed('the connection closed'));
}
