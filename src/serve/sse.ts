/**
 * Streamed HTTP bodies as web-standard Responses, in one place for every framing the server speaks:
 * OpenAI's SSE (`data: {json}\n\n` per event, ending with `data: [DONE]`), the Responses API's
 * typed SSE and Ollama's NDJSON (their framings live beside their routes). When the client goes
 * away the stream is cancelled, which returns the source generator (its `finally` aborts the
 * generation). Deliberately no event ids or retry fields.
 */

/** How a stream writes its values: one chunk per value, one for an error thrown mid-stream (then it ends), one at the end. */
export interface Framing<T> {
  value(v: T): string;
  error(e: unknown): string;
  end?: string;
  headers: Record<string, string>;
}

/** Streams `source` with `framing`. */
export function streamResponse<T>(source: AsyncGenerator<T>, framing: Framing<T>): Response {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      try {
        const { value, done } = await source.next();
        if (done) {
          if (framing.end !== undefined) ctrl.enqueue(enc.encode(framing.end));
          ctrl.close();
          return;
        }
        ctrl.enqueue(enc.encode(framing.value(value)));
      } catch (e) {
        ctrl.enqueue(enc.encode(framing.error(e)));
        ctrl.close();
      }
    },
    async cancel() {
      await source.return(undefined);
    },
  });
  return new Response(body, { headers: framing.headers });
}

/** Streams `source` as SSE; an error thrown mid-stream becomes one `data: {"error":…}` event. */
export function sseResponse(source: AsyncGenerator<unknown>, onError: (e: unknown) => unknown): Response {
  return streamResponse(source, {
    value: (v) => `data: ${JSON.stringify(v)}\n\n`,
    error: (e) => `data: ${JSON.stringify(onError(e))}\n\n`,
    end: 'data: [DONE]\n\n',
    headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' },
  });
}
