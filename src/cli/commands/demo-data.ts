import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';

/** Sample filesystems for the demo: text, nested directories, a symlink, a binary file. */
export function writeSampleData(root: string): string[] {
  const names = ['alpha', 'beta', 'gamma'];
  for (const [i, fs] of names.entries()) {
    const dir = join(root, fs);
    mkdirSync(join(dir, 'docs', 'notes'), { recursive: true });
    writeFileSync(join(dir, 'README.txt'), `filesystem ${fs}: sample data written by ferry demo\n`);
    for (let n = 0; n < 20; n++) writeFileSync(join(dir, 'docs', `page-${n}.txt`), `page ${n} of ${fs}\n`.repeat(50 + n));
    writeFileSync(join(dir, 'docs', 'notes', 'todo.md'), '- replicate\n- verify\n');
    writeFileSync(join(dir, 'blob.bin'), randomBytes((i + 1) * 512 * 1024));
    writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\necho hello\n');
    chmodSync(join(dir, 'run.sh'), 0o755);
    symlinkSync('docs/notes/todo.md', join(dir, 'TODO'));
  }
  return names;
}

/** Changes between the two demo runs: additions, edits, a deletion, a rename. */
export function changeSampleData(root: string): void {
  appendFileSync(join(root, 'alpha', 'README.txt'), 'edited after the first snapshot\n');
  writeFileSync(join(root, 'alpha', 'docs', 'new-page.txt'), 'a page added after the first snapshot\n');
  rmSync(join(root, 'beta', 'docs', 'page-3.txt'));
  renameSync(join(root, 'beta', 'blob.bin'), join(root, 'beta', 'blob-renamed.bin'));
  chmodSync(join(root, 'gamma', 'run.sh'), 0o700);
}
