/**
 * Objects read by id, twenty to a request, with Graph's JSON batching (`POST /$batch`): the users
 * a patched group gains, the groups linked by id. Graph answers each request of a batch with its
 * own status, in any order:
 *   - 2xx: the object; 404: gone (null), as a single GET that answers 404;
 *   - 429 and 5xx: sent again in a later batch, after the longest Retry-After of those answers
 *     (otherwise the client's doubling back-off), at most `maxRetries` times, counted in the
 *     stats as retries and throttled like single requests;
 *   - anything else: the read fails, naming the request.
 * The batch itself is one request of the Graph client (retried on 429, 5xx and network errors);
 * when it keeps failing, the read fails and says it was a `$batch`. A Graph that has no `$batch`
 * (404, 405 or 501 for the batch itself: a proxy, a private endpoint) is read one request per
 * object from then on, and the run records `batchUnsupported`.
 */
import { GraphError } from '@microsoft/microsoft-graph-client';
import { type BatchResponse, type GraphHttp, MAX_BACKOFF_MS, MAX_RETRY_AFTER_MS, retryAfterMs } from './client.ts';

/** Requests in one JSON batch at most (Graph's limit). */
export const BATCH_SIZE = 20;

const UNSUPPORTED = new Set([404, 405, 501]);

/** The objects at these paths (below the service root), in their order; null for those not found. */
export async function getEach<T>(graph: GraphHttp, paths: readonly string[], concurrency: number): Promise<Array<T | null>> {
  const out = new Array<T | null>(paths.length).fill(null);
  const chunks: number[][] = [];
  for (let start = 0; start < paths.length; start += BATCH_SIZE) {
    chunks.push(Array.from({ length: Math.min(BATCH_SIZE, paths.length - start) }, (_, k) => start + k));
  }
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++]!;
      if (graph.stats.batchUnsupported === null) await getChunk(graph, paths, chunk, out);
      else for (const i of chunk) out[i] = await getOne<T>(graph, paths[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
  return out;
}

async function getOne<T>(graph: GraphHttp, path: string): Promise<T | null> {
  try {
    return await graph.get<T>(path);
  } catch (error) {
    if (error instanceof GraphError && error.statusCode === 404) return null;
    throw error;
  }
}

/** One batch of these requests, and later batches for those answered 429 or 5xx. */
async function getChunk<T>(graph: GraphHttp, paths: readonly string[], indexes: readonly number[], out: Array<T | null>): Promise<void> {
  const { maxRetries, retryDelayMs } = graph.retryPolicy;
  let pending = indexes;
  for (let attempt = 0; pending.length > 0; attempt++) {
    const answers = await sendBatch(graph, paths, pending);
    if (answers === null) {
      for (const i of pending) out[i] = await getOne<T>(graph, paths[i]!);
      return;
    }
    const again: number[] = [];
    let wait = 0;
    for (const i of pending) {
      const answer = answers.get(String(i));
      if (!answer) throw itemError(paths[i]!, { id: String(i), status: 0, body: { error: { message: 'no answer in the batch for this request' } } });
      if (answer.status >= 200 && answer.status < 300) out[i] = answer.body as T;
      else if (answer.status === 404) out[i] = null;
      else {
        const told = retryAfterMs(header(answer, 'retry-after'));
        const retriable = answer.status === 429 || answer.status >= 500;
        if (!retriable || attempt >= maxRetries || (told !== null && told > MAX_RETRY_AFTER_MS)) throw itemError(paths[i]!, answer);
        again.push(i);
        if (answer.status === 429) graph.stats.throttled++;
        wait = Math.max(wait, told ?? Math.min(retryDelayMs * 2 ** attempt, MAX_BACKOFF_MS));
      }
    }
    if (again.length > 0) {
      graph.stats.retries += again.length;
      graph.stats.waitedMs += wait;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    pending = again;
  }
}

/** The answers by request id; null when Graph has no `$batch` (the caller then reads one by one). */
async function sendBatch(graph: GraphHttp, paths: readonly string[], indexes: readonly number[]): Promise<Map<string, BatchResponse> | null> {
  try {
    const responses = await graph.postBatch(indexes.map((i) => ({ id: String(i), method: 'GET', url: paths[i]! })));
    return new Map(responses.map((r) => [String(r.id), r]));
  } catch (error) {
    if (!(error instanceof GraphError)) throw error;
    if (UNSUPPORTED.has(error.statusCode)) {
      graph.stats.batchUnsupported = error.statusCode;
      return null;
    }
    error.message = `$batch of ${indexes.length} requests: ${error.message}`;
    throw error;
  }
}

function header(answer: BatchResponse, name: string): string | null {
  for (const [key, value] of Object.entries(answer.headers ?? {})) if (key.toLowerCase() === name) return String(value);
  return null;
}

/** A request of a batch that failed: a GraphError with its status and code, as a single request's. */
function itemError(path: string, answer: BatchResponse): GraphError {
  const detail = (answer.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  const error = new GraphError(answer.status, `GET ${path.split('?')[0]} in a $batch: ${detail?.message ?? `answered ${answer.status}`}`);
  error.code = detail?.code ?? null;
  return error;
}
