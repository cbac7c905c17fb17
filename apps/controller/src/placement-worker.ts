import { parentPort } from 'node:worker_threads';
import { computePlacementWire, type PlacementInputWire } from '@fog/partitioning';

/**
 * The placement thread: computes one placement per message, off the controller's event loop.
 * Answers `{ id, result }` (its buffers transferred) or `{ id, error }`; the controller decides
 * what an error means (it computes the plan again on its own thread, where a deterministic
 * failure is raised where it would have been before). It holds its last result, so that the
 * next request, planned from it, need not send the whole previous assignment again.
 */
if (!parentPort) throw new Error('placement-worker runs only as a worker thread of the controller');
const port = parentPort;
let held: { id: number; replicas: string[][] } | null = null;
port.on('message', (msg: { id: number; wire: PlacementInputWire }) => {
  try {
    const { result, replicas } = computePlacementWire(msg.wire, held);
    held = { id: msg.id, replicas };
    // Moved, not copied: the typed arrays are the result's whole size.
    const buffers = [result.changed.buffer, result.rowStart.buffer, result.nodes.buffer, result.reasons.buffer] as ArrayBuffer[];
    port.postMessage({ id: msg.id, result }, buffers);
  } catch (err) {
    port.postMessage({ id: msg.id, error: (err as Error).message });
  }
});
