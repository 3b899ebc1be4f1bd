import type { UsageStatus } from '../../core/db/schema.js';
import type { UsageLedger } from '../../core/usage/ledger.js';
import { type MeterResult, NdjsonMeter } from '../metering/ndjson-meter.js';
import { NO_TOKENS, recordUsage } from '../metering/recorder.js';
import type { ProxyMetrics } from '../metrics.js';
import type { Admission, Dispatcher, Forwarded, ForwardSpec, Lease, Pricer } from './types.js';
import { BeforeFirstByteError, openUpstream, type Upstream } from './upstream.js';

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
        upstream = await openUpstream(lease.backend.url, spec.backendPath, spec.body, spec.clientSignal);
        break;
      } catch (err) {
        const retryable = err instanceof BeforeFirstByteError && !spec.clientSignal.aborted;
        lease.release({ failed: retryable, error: err });
        if (!retryable || attempt >= deps.maxAttempts) throw err;
        spec.log.warn(
          { backend: lease.backend.name, err: (err as Error).message },
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
      const json = (await new Response(up.body).json()) as Record<string, unknown>;
      meter.whole(json, spec.backendPath === '/api/embed');
      const r = meter.result();
      settle(r.error ? 'error' : 'ok', r, r.error);
      return { kind: 'json', json };
    } catch (err) {
      const r = meter.result();
      settle(spec.clientSignal.aborted ? 'aborted' : 'error', r, (err as Error).message);
      throw err;
    }
  }
  const firstByte = () => deps.metrics.firstByte(spec, (Date.now() - startedAt) / 1000);
  return { kind: 'stream', stream: meteredStream(up, meter, settle, firstByte, spec) };
}

/**
 * Passes the backend's NDJSON through chunk by chunk while the meter reads it. When the
 * client goes away, the backend is asked to stop and the rest of what it already sent is
 * still read and counted (not forwarded), so the ledger has exactly what it produced.
 */
function meteredStream(
  up: Upstream,
  meter: NdjsonMeter,
  settle: (status: UsageStatus, counts: MeterResult, error: string | null) => void,
  onFirstByte: () => void,
  spec: ForwardSpec,
): ReadableStream<Uint8Array> {
  const reader = up.body.getReader();
  let first = true;
  let cancelled = false;
  const finish = (status: 'ok' | 'aborted') => {
    const r = meter.result();
    if (r.error) return settle('error', r, r.error);
    if (status === 'ok' && !r.done) return settle('error', r, 'the stream ended before the final chunk');
    settle(status, r, null);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          finish('ok');
          controller.close();
          return;
        }
        if (first) {
          first = false;
          onFirstByte();
        }
        meter.push(value);
        controller.enqueue(value);
      } catch (err) {
        if (cancelled) return; // the client left; cancel() reads the rest and settles
        const message = `the model backend failed mid-answer: ${(err as Error).message}`;
        spec.log.warn({ err }, 'backend stream failed');
        settle('error', meter.result(), message);
        controller.enqueue(new TextEncoder().encode(`${JSON.stringify({ error: message })}\n`));
        controller.close();
      }
    },
    async cancel() {
      cancelled = true;
      up.stop();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          meter.push(value);
        }
      } catch {
        // the backend cut the connection: what was read is what is counted
      }
      finish('aborted');
    },
  });
}
