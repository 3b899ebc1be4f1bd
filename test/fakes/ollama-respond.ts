/**
 * Response writers of the fake Ollama: streamed and whole generations (with
 * delays, mid-stream faults and client-abort tracking) and the two error shapes.
 */
import { sendJson, sleep } from './http-util.js';
import { computeStats, type FinalStats, type GenerationPlan, type OllamaExchange } from './ollama-shared.js';

/** How one wire format renders the pieces of a streamed generation. */
export interface StreamFormat {
  contentType: string;
  /** One content chunk, including its framing (newline or SSE blank line). */
  chunk(piece: string): string;
  /** Everything written after the last content chunk. */
  final(stats: FinalStats, doneReason: 'stop' | 'length'): string;
  /** The in-band error written by midStreamErrorNext. */
  error(message: string): string;
}

function gone(ex: OllamaExchange): boolean {
  return ex.res.destroyed || ex.record.aborted;
}

/** Streams a planned generation chunk by chunk, honouring delays and faults. */
export async function streamGeneration(ex: OllamaExchange, plan: GenerationPlan, fmt: StreamFormat): Promise<void> {
  const { res, record, opts } = ex;
  record.promptEvalCount = plan.promptEvalCount;
  const fault = ex.takeMidStreamFault();
  await sleep(opts.firstChunkDelayMs);
  if (gone(ex)) return;
  res.writeHead(200, { 'content-type': fmt.contentType });
  const faultAt = fault ? Math.min(fault.afterChunks, plan.pieces.length) : -1;
  for (let i = 0; i <= plan.pieces.length; i++) {
    if (fault && i === faultAt) {
      record.error = fault.error;
      res.end(fmt.error(fault.error));
      return;
    }
    const piece = plan.pieces[i];
    if (piece === undefined) break;
    if (i > 0) {
      await sleep(opts.chunkDelayMs);
      if (gone(ex)) return;
    }
    res.write(fmt.chunk(piece));
    record.evalCount++;
  }
  if (gone(ex)) return;
  record.finished = true;
  res.end(fmt.final(computeStats(ex, plan.promptEvalCount, record.evalCount), plan.doneReason));
}

/** Answers a planned generation as one JSON document after the simulated generation time. */
export async function answerWhole(
  ex: OllamaExchange,
  plan: GenerationPlan,
  render: (content: string, stats: FinalStats) => unknown,
  contentType?: string,
): Promise<void> {
  const { record, opts } = ex;
  record.promptEvalCount = plan.promptEvalCount;
  await sleep(opts.firstChunkDelayMs + opts.chunkDelayMs * Math.max(0, plan.pieces.length - 1));
  if (gone(ex)) return;
  record.evalCount = plan.pieces.length;
  const stats = computeStats(ex, plan.promptEvalCount, record.evalCount);
  record.finished = true;
  sendJson(ex.res, 200, render(plan.pieces.join(''), stats), contentType);
}

/** Ollama's native error: `{"error":"..."}` with the given status. */
export function sendOllamaError(ex: OllamaExchange, status: number, message: string): void {
  ex.record.error = message;
  sendJson(ex.res, status, { error: message });
}

/** The OpenAI `type` Ollama's compatibility layer puts on an error of this status. */
export function openAIErrorType(status: number): string {
  if (status === 400) return 'invalid_request_error';
  if (status === 404) return 'not_found_error';
  return 'api_error';
}

/** The OpenAI-shaped error object Ollama's /v1 layer writes. */
export function openAIErrorBody(status: number, message: string): Record<string, unknown> {
  return { error: { message, type: openAIErrorType(status), param: null, code: null } };
}

/** Ollama's /v1 error: `{"error":{"message","type","param","code"}}`. */
export function sendOpenAIError(ex: OllamaExchange, status: number, message: string): void {
  ex.record.error = message;
  sendJson(ex.res, status, openAIErrorBody(status, message), 'application/json');
}
