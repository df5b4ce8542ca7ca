import type { Command } from 'commander';
import type { JobSendOptions } from '../../machines/send-options.js';
import { parseByteRate } from '../util/bytes.js';

/** The send-option flags as commander hands them over: the job's options, the rate as typed. */
export type SendFlagValues = Omit<JobSendOptions, 'bandwidthLimit'> & { bandwidthLimit?: string };

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Adds the send-option flags (docs/send-options.md) to `ferry replicate` and `ferry job create`. */
export function addSendFlags<C extends Command>(cmd: C): C {
  return cmd
    .option('--raw', 'zfs send -w: send encrypted datasets as they are stored (the receiver stays encrypted)')
    .option('--compressed', 'zfs send -c, btrfs send --compressed-data: compressed blocks stay compressed in the stream')
    .option('--large-blocks', 'zfs send -L: blocks over 128 KiB stay large')
    .option('--properties', 'zfs send -p: send the dataset properties too')
    .option('--allow-decrypted-send', 'send an encrypted dataset without --raw (the receiver gets it decrypted); refused otherwise')
    .option('--receive-set <prop=value>', 'zfs receive -o, e.g. readonly=on; repeatable', collect)
    .option('--receive-exclude <prop>', 'zfs receive -x, e.g. mountpoint; repeatable', collect)
    .option('--bandwidth-limit <rate>', 'bytes per second for every step, e.g. 10M (binary K, M, G)') as C;
}

/** The flags as a spec's send options (checked with the rest), or undefined when none is given; a bad rate names --bandwidth-limit. */
export function sendOptionsOfFlags(o: SendFlagValues): JobSendOptions | undefined {
  const out: JobSendOptions = {
    ...(o.raw ? { raw: true } : {}),
    ...(o.compressed ? { compressed: true } : {}),
    ...(o.largeBlocks ? { largeBlocks: true } : {}),
    ...(o.properties ? { properties: true } : {}),
    ...(o.allowDecryptedSend ? { allowDecryptedSend: true } : {}),
    ...(o.receiveSet?.length ? { receiveSet: o.receiveSet } : {}),
    ...(o.receiveExclude?.length ? { receiveExclude: o.receiveExclude } : {}),
    ...(o.bandwidthLimit !== undefined ? { bandwidthLimit: parseByteRate(o.bandwidthLimit, '--bandwidth-limit') } : {}),
  };
  return Object.keys(out).length ? out : undefined;
}
