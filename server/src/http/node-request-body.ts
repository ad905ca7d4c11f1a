/**
 * A Node request body for the fetch handler, and what happens to its rest when the answer went out before it
 * all arrived. Unlike `Readable.toWeb`, cancelling the stream never destroys the socket: the Node server then
 * still sends its answer (a 413) and closes the connection after discarding what the client is still sending.
 */
import type { IncomingMessage } from 'node:http';

/** A request body as a web stream that, unlike `Readable.toWeb`, never destroys the socket when cancelled. */
export function bodyStream(req: IncomingMessage): { stream: ReadableStream<Uint8Array>; detach(): void } {
  let open = true;
  const onData = (chunk: Buffer) => {
    if (!open) return;
    controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if ((controller.desiredSize ?? 0) <= 0) req.pause();
  };
  const onEnd = () => {
    if (open) controller.close();
    detach();
  };
  const onError = (err: Error) => {
    if (open) controller.error(err);
    detach();
  };
  function detach() {
    open = false;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
  }
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        controller = c;
        req.on('data', onData);
        req.once('end', onEnd);
        req.once('error', onError);
      },
      pull() {
        req.resume();
      },
      cancel() {
        // The handler stopped reading (the body is too large): what is left is the adapter's to discard.
        detach();
        req.pause();
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
  return { stream, detach };
}

/** Whether part of the request body has yet to arrive (a bodiless request may not be marked complete yet). */
export function bodyPending(req: IncomingMessage): boolean {
  if (req.complete) return false;
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** Discards the rest of a request body until it has arrived, the client hangs up, or `ms` pass. */
export function discardRest(req: IncomingMessage, ms: number): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      req.off('end', done);
      req.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    req.on('end', done);
    req.on('close', done);
    req.on('data', () => {});
    req.resume();
  });
}
