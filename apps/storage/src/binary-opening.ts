import type net from 'node:net';
import { FogError, OPS_OPENING_LINE_BYTES_MAX } from '@fog/protocol';

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
