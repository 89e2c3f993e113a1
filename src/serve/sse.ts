/**
 * Server-sent events as a web-standard streaming Response: `data: {json}\n\n` per event, ending
 * with `data: [DONE]` (OpenAI's convention). When the client goes away the stream is cancelled,
 * which returns the source generator (its `finally` aborts the generation).
 * Deliberately no event ids or retry fields.
 */

/** Streams `source` as SSE; an error thrown mid-stream becomes one `data: {"error":…}` event. */
export function sseResponse(source: AsyncGenerator<unknown>, onError: (e: unknown) => unknown): Response {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      try {
        const { value, done } = await source.next();
        if (done) {
          ctrl.enqueue(enc.encode('data: [DONE]\n\n'));
          ctrl.close();
          return;
        }
        ctrl.enqueue(enc.encode(`data: ${JSON.stringify(value)}\n\n`));
      } catch (e) {
        ctrl.enqueue(enc.encode(`data: ${JSON.stringify(onError(e))}\n\n`));
        ctrl.close();
      }
    },
    async cancel() {
      await source.return(undefined);
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' } });
}
