import { FLAGS_HONOURED, SEND_FLAGS, unhonoured, type JobSendOptions } from '../../machines/send-options.js';
import { InvalidArgumentError, quote } from '../errors/index.js';
import { parseByteRate } from '../util/bytes.js';

/** A job's send options as callers give them: the bandwidth limit may be text ("10M"). */
export type SendOptionsInput = Omit<JobSendOptions, 'bandwidthLimit'> & { bandwidthLimit?: number | string };

/** The zfs send and receive options: field (camelCase) -> as the gRPC message and the config file spell it. */
const SPELLING = {
  raw: 'raw', compressed: 'compressed', largeBlocks: 'large_blocks', properties: 'properties',
  allowDecryptedSend: 'allow_decrypted_send', receiveSet: 'receive_set', receiveExclude: 'receive_exclude',
} as const;

/** a zfs property name: native (lower case) or user (with a ':'), as zfs(8) allows */
const PROPERTY = /^[a-z][a-z0-9_.:-]{0,255}$/;
/** the lowest limit taken: below it a step of any size would outlive every timeout */
const MIN_RATE = 1024;

function invalid(field: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(`${field}: ${message}`, { code: 'INVALID_ARGUMENT', details: { field } });
}

function propertyList(field: string, list: unknown, withValue: boolean): string[] | undefined {
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) throw invalid(field, 'must be a list');
  const out = list.map((item, i) => {
    const f = `${field}[${i}]`;
    if (typeof item !== 'string') throw invalid(f, `${quote(item)} is not text`);
    const [name, ...rest] = item.split('=');
    if (!PROPERTY.test(name)) throw invalid(f, `${quote(name)} is not a zfs property name`);
    if (withValue) {
      const value = rest.join('=');
      if (rest.length === 0 || value === '') throw invalid(f, `${quote(item)}: use property=value, e.g. readonly=on`);
      if (/[\0\n]/.test(value) || value.length > 1024) throw invalid(f, `the value of ${name} must be one line of at most 1024 characters`);
    } else if (rest.length) throw invalid(f, `${quote(item)}: a property name only, e.g. mountpoint`);
    return item;
  });
  return out.length ? out : undefined;
}

/**
 * Checks a job's send options (field names in errors as the gRPC message spells them, under
 * `send.`) and returns them normalized, only the fields that are set; undefined when none is.
 * `kind` is the endpoints' storage kind: the zfs options a btrfs or dir job's driver has nothing
 * to honour with are refused (btrfs honours `compressed` only; docs/send-options.md). The bandwidth
 * limit applies to every kind.
 */
export function checkSendOptions(raw: SendOptionsInput | undefined | null, kind?: 'zfs' | 'btrfs' | 'dir'): JobSendOptions | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid('send', 'must be an object');
  const out: JobSendOptions = {};
  for (const key of SEND_FLAGS) {
    const v = raw[key];
    if (v === undefined || v === null || v === false) continue;
    if (v !== true) throw invalid(`send.${SPELLING[key]}`, `must be true or false, not ${quote(v)}`);
    out[key] = true;
  }
  const set = propertyList('send.receive_set', raw.receiveSet, true);
  const exclude = propertyList('send.receive_exclude', raw.receiveExclude, false);
  if (set) out.receiveSet = set;
  if (exclude) out.receiveExclude = exclude;
  const both = set && exclude && set.map((s) => s.split('=')[0]).find((p) => exclude.includes(p));
  if (both) throw invalid('send.receive_exclude', `${both} is also in send.receive_set: set it or exclude it, not both`);
  if (raw.bandwidthLimit !== undefined && raw.bandwidthLimit !== null && raw.bandwidthLimit !== 0 && raw.bandwidthLimit !== '') {
    const rate = parseByteRate(raw.bandwidthLimit, 'send.bandwidth_limit');
    if (rate < MIN_RATE) throw invalid('send.bandwidth_limit', `at least ${MIN_RATE} bytes per second (1K), not ${rate}`);
    out.bandwidthLimit = rate;
  }
  if (kind !== undefined && kind !== 'zfs') {
    const flag = unhonoured(kind, (Object.keys(SPELLING) as Array<keyof typeof SPELLING>).filter((k) => out[k] !== undefined));
    const apply = [...FLAGS_HONOURED[kind].map((k) => `send.${SPELLING[k]}`), 'send.bandwidth_limit'];
    if (flag) throw invalid(`send.${SPELLING[flag]}`, `a zfs send/receive option: ${kind} endpoints cannot honour it (only ${apply.join(' and ')} ${apply.length > 1 ? 'apply' : 'applies'} to them)`);
  }
  return Object.keys(out).length ? out : undefined;
}
