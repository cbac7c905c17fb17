/**
 * The whole-cluster simulation runner (libs/sim): many seeds, one seed replayed, a long mode,
 * and the planted-bug self-test. Prints a failure's seed, invariant, last events and replay
 * command, and the speed in simulated cluster-minutes per wall second.
 *
 *   npm run sim -- --seeds 200            seeds 1..200 (--first-seed S to start elsewhere)
 *   npm run sim -- --seed 17              replay seed 17 (add --plant BUG to replay a self-test run)
 *   npm run sim -- --long                 seeds from --first-seed (default: from the time) until stopped
 *   npm run sim -- --self-test            each planted bug must be caught within --seeds-per-bug seeds
 *   npm run sim -- --seeds 500 --faults corrupt-record,crash    only these fault kinds
 */
import { FAULT_KINDS, PLANTED_BUGS, PLANTED_BUG_FAULTS, TRACE_LINES_MAX, formatFailure, replayCommand, runSimulation, type FaultKind, type PlantedBug, type SimResult } from '@fog/sim';

interface Args {
  seeds: number | null;
  seed: number | null;
  firstSeed: number | null;
  long: boolean;
  selfTest: boolean;
  seedsPerBug: number;
  plant: PlantedBug | null;
  /** With --seed and --plant: the self-test's fault mix for that bug. */
  selfTestFaults: boolean;
  /** Events a failure's trace shows. */
  traceLines: number;
  /** --faults: only these fault kinds (default: all). */
  faults: FaultKind[] | null;
}

const USAGE = 'usage: npm run sim -- [--seeds N] [--seed S] [--first-seed S] [--long] [--self-test [--seeds-per-bug N]] [--plant BUG [--self-test-faults]] [--faults KIND,...] [--trace LINES]';

function parseArgs(argv: string[]): Args {
  const a: Args = { seeds: null, seed: null, firstSeed: null, long: false, selfTest: false, seedsPerBug: 20, plant: null, selfTestFaults: false, traceLines: TRACE_LINES_MAX, faults: null };
  const int = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (v === undefined || !Number.isSafeInteger(n) || n < 0) throw new Error(`${flag} needs a non-negative integer`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    if (f === '--seeds') a.seeds = int(f, argv[++i]);
    else if (f === '--seed') a.seed = int(f, argv[++i]);
    else if (f === '--first-seed') a.firstSeed = int(f, argv[++i]);
    else if (f === '--seeds-per-bug') a.seedsPerBug = int(f, argv[++i]);
    else if (f === '--trace') a.traceLines = Math.max(1, int(f, argv[++i]));
    else if (f === '--long') a.long = true;
    else if (f === '--self-test') a.selfTest = true;
    else if (f === '--self-test-faults') a.selfTestFaults = true;
    else if (f === '--faults') {
      const kinds = (argv[++i] ?? '').split(',') as FaultKind[];
      const bad = kinds.filter((k) => !FAULT_KINDS.includes(k));
      if (bad.length > 0 || kinds.length === 0) throw new Error(`--faults takes a comma-separated list of ${FAULT_KINDS.join(', ')}; not: ${bad.join(', ')}`);
      a.faults = kinds;
    }
    else if (f === '--plant') {
      const b = argv[++i] as PlantedBug;
      if (!PLANTED_BUGS.includes(b)) throw new Error(`--plant must be one of ${PLANTED_BUGS.join(', ')}`);
      a.plant = b;
    } else if (f === '--help' || f === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${f}`);
  }
  return a;
}

class Speed {
  private readonly started = Date.now();
  virtualMs = 0;
  runs = 0;
  events = 0;
  everysecRuns = 0;
  readonly disk = { tornCrashes: 0, corruptions: 0, writeErrors: 0, fsyncErrors: 0, snapshots: 0 };

  add(r: SimResult): void {
    this.virtualMs += r.virtualMs;
    this.runs++;
    this.events += r.events;
    if (r.fsync === 'everysec') this.everysecRuns++;
    this.disk.tornCrashes += r.disk.tornCrashes;
    this.disk.corruptions += r.disk.corruptions;
    this.disk.writeErrors += r.disk.writeErrors;
    this.disk.fsyncErrors += r.disk.fsyncErrors;
    this.disk.snapshots += r.disk.snapshots;
  }

  diskLine(): string {
    const d = this.disk;
    return `disks: ${this.everysecRuns}/${this.runs} runs with fsync everysec; ${d.tornCrashes} torn crashes, ${d.corruptions} corrupt records, ${d.writeErrors} failed writes (disk full), ${d.fsyncErrors} failed fsyncs, ${d.snapshots} recovery snapshots`;
  }

  line(): string {
    const wallS = Math.max(0.001, (Date.now() - this.started) / 1000);
    const minutes = this.virtualMs / 60_000;
    return `${this.runs} runs, ${minutes.toFixed(1)} simulated cluster-minutes in ${wallS.toFixed(1)} s wall: ${(minutes / wallS).toFixed(2)} cluster-minutes per wall second (${Math.round(this.events / wallS)} events/s)`;
  }
}

function summary(r: SimResult): string {
  const o = r.ops;
  return `seed ${r.seed}: ok — ${o.writesAcked}/${o.writes} writes acked, ${o.readsOk}/${o.reads} reads, ${r.faults} faults, final epoch ${r.finalEpoch}, converged ${r.convergenceMs} ms after faults stopped, ${(r.virtualMs / 1000).toFixed(0)} s simulated, fsync ${r.fsync}`;
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const speed = new Speed();
  if (args.seed !== null) {
    const r = await runSimulation({ seed: args.seed, plant: args.plant, traceLines: args.traceLines, ...(args.selfTestFaults && args.plant ? { faultKinds: PLANTED_BUG_FAULTS[args.plant] } : args.faults ? { faultKinds: args.faults } : {}) });
    speed.add(r);
    console.log(r.failure ? formatFailure(r) : summary(r));
    console.log(speed.line());
    return r.failure ? 1 : 0;
  }
  if (args.selfTest) {
    let missed = 0;
    for (const plant of PLANTED_BUGS) {
      let caught: SimResult | null = null;
      for (let seed = 1; seed <= args.seedsPerBug && !caught; seed++) {
        const r = await runSimulation({ seed, plant, faultKinds: PLANTED_BUG_FAULTS[plant] });
        speed.add(r);
        if (r.failure) caught = r;
      }
      if (caught) console.log(`planted ${plant}: caught at seed ${caught.seed} as ${caught.failure!.invariant} (replay: ${replayCommand(caught)})`);
      else {
        missed++;
        console.log(`planted ${plant}: NOT caught within ${args.seedsPerBug} seeds`);
      }
    }
    console.log(speed.line());
    return missed > 0 ? 1 : 0;
  }
  let stop = false;
  process.on('SIGINT', () => {
    stop = true;
  });
  const first = args.firstSeed ?? (args.long ? Date.now() % 1_000_000_000 : 1);
  const count = args.long ? Infinity : args.seeds ?? 20;
  let failures = 0;
  for (let i = 0; i < count && !stop; i++) {
    const r = await runSimulation({ seed: first + i, plant: args.plant, ...(args.faults ? { faultKinds: args.faults } : {}) });
    speed.add(r);
    if (r.failure) {
      failures++;
      console.log(formatFailure(r));
    } else if (args.long && speed.runs % 50 === 0) console.log(speed.line());
  }
  console.log(`${failures === 0 ? 'all passed' : `${failures} failed`}: ${speed.line()}`);
  console.log(speed.diskLine());
  return failures > 0 ? 1 : 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
