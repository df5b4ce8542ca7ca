import { readFile } from 'node:fs/promises';

/** A mount as /proc/self/mountinfo shows it: where, of what type, and for btrfs the subvolume at its root. */
export interface MountRoot {
  mountPoint: string;
  fstype: string;
  /** btrfs' `subvolid=` option: the subvolume that holds the mount's root directory; null when not shown */
  subvolumeId: number | null;
}

/** mountinfo's octal escapes (`\040` a space, `\012` a newline, `\134` a backslash) undone */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Pure: the mounts of a mountinfo text (proc(5): `id parent major:minor root mountpoint options
 * [optional...] - fstype source superoptions`), in its order: a later mount at the same place
 * covers an earlier one.
 */
export function parseMounts(text: string): MountRoot[] {
  const out: MountRoot[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields[dash + 1] === undefined) continue;
    const fstype = fields[dash + 1];
    const id = fstype === 'btrfs' ? /(?:^|,)subvolid=(\d+)(?:,|$)/.exec(fields[dash + 3] ?? '')?.[1] : undefined;
    out.push({ mountPoint: unescape(fields[4]), fstype, subvolumeId: id === undefined ? null : Number(id) });
  }
  return out;
}

/**
 * The id of the subvolume whose root directory `path` is, when `path` is where a btrfs filesystem
 * is mounted (the last mount there, the one seen, is btrfs): what `btrfs inspect-internal rootid` answers,
 * read from /proc/self/mountinfo instead of starting a process (10–40 ms here, once per holding
 * subvolume per process: every CLI run). null when `path` is no mount point of this process's
 * namespace (a subvolume nested inside a mounted one) or the kernel shows no `subvolid=`: ask btrfs then.
 * The caller knows `path` is a subvolume's root directory (inode 256), so the subvolume that holds
 * the mount's root is that one.
 */
export async function mountedSubvolumeId(path: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return null;
  }
  const seen = parseMounts(text).filter((m) => m.mountPoint === path).pop();
  return seen?.fstype === 'btrfs' ? seen.subvolumeId : null;
}
