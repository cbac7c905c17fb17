import { FogError, decodeTableMessage, type PartitionTable, type TableProblem } from '@fog/protocol';
import type { RefusalReporter } from './refusals';

/**
 * A pushed table message — a delta from the epoch held, a compact table or a plain one —
 * decoded and then checked strictly (`problem`); null when it is not newer than the table
 * held. A malformed or failing message throws its FogError (answered 4xx) and is counted and
 * logged as a refusal; a delta from an epoch not held is the ordinary "send me the whole
 * table" answer and is not reported.
 */
export function decodePushedTable(
  held: PartitionTable | null, body: unknown, problem: (t: PartitionTable) => TableProblem | null, refusals: RefusalReporter,
): PartitionTable | null {
  let table: PartitionTable | null;
  try {
    table = decodeTableMessage(held, body);
  } catch (err) {
    if (!(err instanceof FogError) || err.code === 'FOG_ERR_TABLE_BASE_MISMATCH') throw err;
    refusals.refuse('table_push', err.code === 'FOG_ERR_TABLE_CHECKSUM' ? 'checksum' : 'malformed', err.message);
    // A message that does not decode is a table refused whole, like one that fails the checks.
    throw err.code === 'FOG_ERR_BAD_REQUEST' ? new FogError('FOG_ERR_BAD_TABLE', err.message) : err;
  }
  if (table === null) return null;
  const p = problem(table);
  if (p) {
    refusals.refuse('table_push', p.reason, p.message);
    throw new FogError(p.code, p.message);
  }
  return table;
}
