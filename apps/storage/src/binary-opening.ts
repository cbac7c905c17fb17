import type net from 'node:net';
import { FogError, FrameReader, OPS_OPENING_LINE_BYTES_MAX } from '@fog/protocol';

/**
 * The first line of a binary connection (after its preface): the cluster's signed opening,
 * read within OPS_OPENING_LINE_BYTES_MAX and judged before any frame is read. `check` returns
 * null to accept; otherwise `refused` gets the error to answer with (the connection is then the
 * caller's to close). `accepted` gets the bytes that followed the line.
 */
export function readOpening(
  socket: net.Socket, rest: Buffer, check: (line: string) => FogError | null, refused: (err: FogError) => void, accepted: (rest: Buffer) => void,
): void {
  let head = rest;
  const onOpening = (chunk: Buffer | null): void => {
    if (chunk) head = head.length ? Buffer.concat([head, chunk]) : chunk;
    const nl = head.indexOf(0x0a);
    if (nl < 0) {
      if (head.length > OPS_OPENING_LINE_BYTES_MAX) {
        socket.off('data', onOpening);
        refused(new FogError('FOG_ERR_BAD_REQUEST', 'the connection opening line is too long'));
      }
      return;
    }
    socket.off('data', onOpening);
    const problem = nl > OPS_OPENING_LINE_BYTES_MAX
      ? new FogError('FOG_ERR_BAD_REQUEST', 'the connection opening line is too long')
      : check(head.subarray(0, nl).toString('latin1'));
    if (problem) refused(problem);
    else accepted(head.subarray(nl + 1));
  };
  socket.on('data', onOpening);
  onOpening(null);
}

/**
 * The frames of an accepted binary connection, from `rest` (what followed the opening) on:
 * each complete frame goes to `onFrame`, the answers to one chunk leaving in one write (corked).
 * A frame over `frameBytesMax` cannot be skipped in the stream: reading stops and `oversized`
 * gets the reason (the caller refuses and closes).
 */
export function serveFrames(
  socket: net.Socket, rest: Buffer, frameBytesMax: number, onFrame: (frame: Buffer) => void, oversized: (reason: string) => void,
): void {
  const reader = new FrameReader(frameBytesMax);
  const frames: Buffer[] = [];
  const onData = (chunk: Buffer): void => {
    try {
      reader.push(chunk, frames);
    } catch (err) {
      socket.off('data', onData);
      oversized((err as Error).message);
      return;
    }
    socket.cork();
    for (const f of frames) onFrame(f);
    socket.uncork();
    frames.length = 0;
  };
  socket.on('data', onData);
  if (rest.length > 0) onData(rest);
}
