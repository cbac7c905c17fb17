import { runSimulation, PLANTED_BUG_FAULTS } from '..';
it('probe', async () => {
  for (let seed = 1; seed <= 120; seed++) {
    const r = await runSimulation({ seed, plant: 'copy-one-source', faultKinds: PLANTED_BUG_FAULTS['copy-one-source'], hotKeys: Number(process.env.HK ?? 8) });
    if (r.failure) { console.log('caught at', seed, r.failure.invariant); return; }
  }
  console.log('not caught in 120');
}, 300000);
