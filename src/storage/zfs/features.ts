import { zfsUsageSync } from './run-zfs.js';

/** What the installed zfs can do, read from its usage text (`zfs -?`). */
export interface ZfsFeatures {
  /** `zfs snapshot a@s b@s ...` in one (atomic) call: OpenZFS, not zfs-fuse */
  multiSnapshot: boolean;
  /** `zfs send -n -P` prints the stream size without sending: OpenZFS, not zfs-fuse */
  dryRunSize: boolean;
  /** `zfs receive -s`, `receive_resume_token`, `zfs send -t`, `zfs receive -A`: OpenZFS >= 0.7, not zfs-fuse */
  resumable: boolean;
  /** `zfs send -w` (raw, encrypted blocks as stored): OpenZFS >= 0.8 */
  sendRaw: boolean;
  /** `zfs send -c`: OpenZFS */
  sendCompressed: boolean;
  /** `zfs send -L`: OpenZFS */
  sendLargeBlocks: boolean;
  /** `zfs send -p`: both */
  sendProperties: boolean;
  /** `zfs receive -o prop=value` and `-x prop`: OpenZFS >= 0.7 */
  receiveOverrides: boolean;
  /** native encryption (`zfs load-key`, the `encryption` property): OpenZFS >= 0.8 */
  encryption: boolean;
  /** user holds (`zfs hold`, `zfs release`): both */
  holds: boolean;
  /** bookmarks (`zfs bookmark`, `zfs send -i #bookmark`): OpenZFS, not zfs-fuse */
  bookmarks: boolean;
  /**
   * The `zfs send` process writes the stream itself, so its write counter is the stream's exact
   * length (OpenZFS: the send ioctl writes from the caller); zfs-fuse's daemon writes the pipe instead
   */
  sendWritesStream: boolean;
}

const NO_FEATURES: ZfsFeatures = {
  multiSnapshot: false, dryRunSize: false, resumable: false,
  sendRaw: false, sendCompressed: false, sendLargeBlocks: false, sendProperties: false, receiveOverrides: false, encryption: false,
  holds: false, bookmarks: false, sendWritesStream: false,
};

/** The lines of one command's usage: `\tcmd ...` and the continuation lines under it. */
function usageBlocks(usage: string, command: string): string[] {
  const out: string[] = [];
  let inBlock = false;
  for (const line of usage.split('\n')) {
    const m = /^\t([a-z]+)\b/.exec(line);
    if (m) {
      inBlock = m[1] === command;
      if (inBlock) out.push(line);
    } else if (inBlock && /^\t[ \t]/.test(line)) {
      out.push(line);
    } else {
      inBlock = false;
    }
  }
  return out;
}

/** Single-letter options a command's usage shows in `[-abc]` groups. */
function flags(usage: string, command: string): Set<string> {
  const set = new Set<string>();
  for (const line of usageBlocks(usage, command)) {
    for (const m of line.matchAll(/\[-([A-Za-z]+)\]/g)) for (const ch of m[1]) set.add(ch);
  }
  return set;
}

/** Pure: the features a usage text shows (tested with zfs-fuse's and OpenZFS' texts). */
export function parseUsage(usage: string): ZfsFeatures {
  const send = flags(usage, 'send');
  const receive = flags(usage, 'receive');
  const bookmarks = /^\tbookmark\b/m.test(usage);
  return {
    // OpenZFS: "snapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ..."
    multiSnapshot: usageBlocks(usage, 'snapshot').some((l) => /@\S*\s+\.\.\./.test(l)),
    dryRunSize: send.has('n') && send.has('P'),
    resumable: receive.has('s') && /receive_resume_token/.test(usage),
    sendRaw: send.has('w'),
    sendCompressed: send.has('c'),
    sendLargeBlocks: send.has('L'),
    sendProperties: send.has('p'),
    receiveOverrides: usageBlocks(usage, 'receive').some((l) => /\[-o <?property>?=/.test(l)) && usageBlocks(usage, 'receive').some((l) => /\[-x <?property>?\]/.test(l)),
    encryption: /^\tload-key\b/m.test(usage),
    holds: /^\thold\b/m.test(usage) && /^\trelease\b/m.test(usage),
    bookmarks,
    // OpenZFS, told apart from zfs-fuse by a command zfs-fuse never had
    sendWritesStream: bookmarks,
  };
}

let cached: ZfsFeatures | undefined;

/** The features of the zfs on PATH (/usr/sbin, /sbin), probed once per process; none if zfs is missing. */
export function zfsFeatures(): ZfsFeatures {
  if (cached) return cached;
  const usage = zfsUsageSync();
  if (usage === null) return NO_FEATURES; // not cached: zfs may be installed later
  cached = parseUsage(usage);
  return cached;
}
