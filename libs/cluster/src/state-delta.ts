import { decodeTableMessage, encodeCompactTable, encodeTableDelta, type TableDelta } from '@fog/protocol';
import type { ControllerState, Move } from './controller-core';
import type { Member } from './member';

/**
 * What changed between two saved controller states, for the controller's state log: a log of
 * these plus a periodic full snapshot replaces rewriting the whole state (16 MB at D=4) on
 * every epoch. Heartbeat times are not part of it: a restored controller restarts them anyway.
 */
export interface StateDelta {
  /** The table change (a delta when the previous state had a table, else the compact table). */
  table: TableDelta | ReturnType<typeof encodeCompactTable> | null;
  /** Target rows that changed: the replica set placement aims at, with its reasons. */
  target: Array<{ p: number; replicas: string[]; why: string[] }>;
  /** Set when the target appeared or its size changed: the whole of it. */
  targetAll?: { replicas: string[][]; why: string[][] } | null;
  membersSet: Member[];
  membersRemoved: string[];
  movesSet: Move[];
  movesRemoved: string[];
}

const moveKey = (m: Pick<Move, 'partition' | 'node'>): string => `${m.partition}:${m.node}`;

function sameMember(a: Member, b: Member): boolean {
  return (
    a.id === b.id && a.role === b.role && a.address === b.address && a.internal === b.internal && a.zone === b.zone && a.weight === b.weight &&
    a.state === b.state && a.registeredAtMs === b.registeredAtMs
  );
}

function sameMove(a: Move, b: Move): boolean {
  return a.reason === b.reason && a.epoch === b.epoch && a.startedAtMs === b.startedAtMs && a.keysCopied === b.keysCopied && a.bytesCopied === b.bytesCopied && a.done === b.done;
}

/** True when nothing a restart needs changed. */
export function isEmptyDelta(d: StateDelta): boolean {
  return d.table === null && d.target.length === 0 && d.targetAll === undefined && d.membersSet.length === 0 &&
    d.membersRemoved.length === 0 && d.movesSet.length === 0 && d.movesRemoved.length === 0;
}

export function diffState(before: ControllerState, after: ControllerState): StateDelta {
  let table: StateDelta['table'] = null;
  if (after.table && after.table !== before.table && after.table.epoch !== before.table?.epoch) {
    // The compact form drops placement reasons: the state file writes a snapshot instead when
    // the first table appears, so this form only serves callers without one.
    table = before.table ? encodeTableDelta(before.table, after.table) : encodeCompactTable(after.table);
  }
  const target: StateDelta['target'] = [];
  let targetAll: StateDelta['targetAll'];
  if (after.target !== before.target) {
    if (!after.target || !before.target || after.target.length !== before.target.length) {
      targetAll = after.target ? { replicas: after.target, why: after.targetWhy ?? [] } : null;
    } else {
      for (let p = 0; p < after.target.length; p++) {
        const why = after.targetWhy?.[p] ?? [];
        if (after.target[p] !== before.target[p] || why !== (before.targetWhy?.[p] ?? [])) {
          const was = before.target[p];
          const is = after.target[p];
          const sameRow = was.length === is.length && was.every((id, i) => id === is[i]);
          const wasWhy = before.targetWhy?.[p] ?? [];
          const sameWhy = wasWhy.length === why.length && wasWhy.every((w, i) => w === why[i]);
          if (!sameRow || !sameWhy) target.push({ p, replicas: is, why });
        }
      }
    }
  }
  const membersBefore = new Map(before.members.map((m) => [m.id, m]));
  const membersAfter = new Map(after.members.map((m) => [m.id, m]));
  const movesBefore = new Map(before.moves.map((m) => [moveKey(m), m]));
  const movesAfter = new Map(after.moves.map((m) => [moveKey(m), m]));
  return {
    table,
    target,
    ...(targetAll !== undefined ? { targetAll } : {}),
    membersSet: after.members.filter((m) => !membersBefore.has(m.id) || !sameMember(membersBefore.get(m.id) as Member, m)),
    membersRemoved: before.members.filter((m) => !membersAfter.has(m.id)).map((m) => m.id),
    movesSet: after.moves.filter((m) => !movesBefore.has(moveKey(m)) || !sameMove(movesBefore.get(moveKey(m)) as Move, m)),
    movesRemoved: [...movesBefore.keys()].filter((k) => !movesAfter.has(k)),
  };
}

/** The state after `delta`; `state` is not modified. Throws when the table change does not apply. */
export function applyStateDelta(state: ControllerState, delta: StateDelta): ControllerState {
  const table = delta.table ? decodeTableMessage(state.table, delta.table) ?? state.table : state.table;
  let target = state.target;
  let targetWhy = state.targetWhy;
  if (delta.targetAll !== undefined) {
    target = delta.targetAll?.replicas ?? null;
    targetWhy = delta.targetAll?.why ?? [];
  }
  if (delta.target.length > 0) {
    if (!target) throw new Error('state log changes a target that does not exist');
    target = target.slice();
    targetWhy = (targetWhy ?? []).slice();
    for (const row of delta.target) {
      target[row.p] = row.replicas;
      targetWhy[row.p] = row.why;
    }
  }
  const members = new Map(state.members.map((m) => [m.id, m]));
  for (const id of delta.membersRemoved) members.delete(id);
  for (const m of delta.membersSet) members.set(m.id, m);
  const moves = new Map(state.moves.map((m) => [moveKey(m), m]));
  for (const k of delta.movesRemoved) moves.delete(k);
  for (const m of delta.movesSet) moves.set(moveKey(m), m);
  return { ...state, table, target, targetWhy, members: [...members.values()], moves: [...moves.values()] };
}
