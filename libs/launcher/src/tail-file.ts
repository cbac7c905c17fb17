import fs from 'node:fs';

/** The last `lines` lines of a text file, or a note when it cannot be read. */
export function tailFile(file: string, lines = 40): string {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return `(cannot read ${file}: ${(err as Error).message})`;
  }
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  return all.slice(-lines).join('\n');
}
