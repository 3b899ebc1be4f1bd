import { UpstreamRefusedError, UpstreamUnavailableError } from '../../../core/errors.js';

/** One Ollama server the proxy forwards to. */
export class OllamaBackend {
  /** A short name for logs and the ledger's `backend` column (host:port). */
  readonly name: string;

  constructor(readonly url: string) {
    this.name = new URL(url).host;
  }

  /**
   * POSTs JSON to the backend and returns the response once its headers arrive.
   * Network failures become UpstreamUnavailableError; a 4xx becomes UpstreamRefusedError
   * carrying Ollama's own message; a 5xx is "unavailable".
   */
  async post(path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new UpstreamUnavailableError('Ollama', `${this.name} is unreachable (${causeOf(err)})`, { cause: err });
    }
    if (res.ok) return res;
    const message = await errorMessage(res);
    if (res.status >= 400 && res.status < 500) throw new UpstreamRefusedError('Ollama', res.status, message);
    throw new UpstreamUnavailableError('Ollama', `${this.name} answered ${res.status}: ${message}`);
  }

  /**
   * The names of the models installed on the backend (`GET /api/tags`), as Ollama spells
   * them. Any failure, including a body without a model list, is UpstreamUnavailableError;
   * the pool's health check relies on that.
   */
  async listModels(signal: AbortSignal): Promise<string[]> {
    let body: unknown;
    try {
      const res = await fetch(`${this.url}/api/tags`, { signal });
      if (!res.ok) {
        const message = await errorMessage(res);
        throw new UpstreamUnavailableError('Ollama', `${this.name} answered ${res.status} to /api/tags: ${message}`);
      }
      body = await res.json();
    } catch (err) {
      if (err instanceof UpstreamUnavailableError) throw err;
      throw new UpstreamUnavailableError('Ollama', `${this.name} is unreachable (${causeOf(err)})`, { cause: err });
    }
    const models = (body as { models?: unknown } | null)?.models;
    if (!Array.isArray(models)) {
      throw new UpstreamUnavailableError('Ollama', `${this.name} answered /api/tags without a model list`);
    }
    const names: string[] = [];
    for (const m of models as { name?: unknown; model?: unknown }[]) {
      if (typeof m?.name === 'string') names.push(m.name);
      if (typeof m?.model === 'string' && m.model !== m.name) names.push(m.model);
    }
    return names;
  }
}

/** Reads Ollama's `{"error": "…"}` body, falling back to the status text. */
async function errorMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const parsed = JSON.parse(text) as { error?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: use the text itself
  }
  return text.slice(0, 200) || res.statusText;
}

/** The innermost cause of a fetch failure (ECONNREFUSED, …), for a readable message. */
function causeOf(err: unknown): string {
  let e = err as { cause?: unknown; code?: string; message?: string; name?: string };
  while (e?.cause) e = e.cause as typeof e;
  if (e?.name === 'TimeoutError') return 'no answer in time';
  return e?.code ?? e?.message ?? 'network error';
}
