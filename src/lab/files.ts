/** Writing the lab's files. */
import { renameSync, writeFileSync } from 'node:fs';

/** Write through a temporary file and rename, so a reader never sees half a file. */
export function writeFileAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
