import path from 'node:path';
import { main } from './runlocal';

// The bundle runs from dist/tools/runlocal/main.js; the repository is three levels up.
const root = path.resolve(__dirname, '..', '..', '..');

main(process.argv.slice(2), root).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`runlocal: internal error: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
