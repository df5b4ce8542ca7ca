/**
 * Redis key names. Every key of one machine carries the same hash tag `{<id>}` so a
 * commit (record, inbox, outbox) stays within one Redis Cluster slot.
 */
export interface Keys {
  record(id: string): string;
  inbox(id: string): string;
  outbox(id: string): string;
  /** the global transition log (capped stream) */
  transitions: string;
  /** the durable numbers machines' commits change (hash: field `[name, labels]` as JSON, value a number) */
  stats: string;
  /** top-level machines by kind, scored by creation time */
  index(kind: string): string;
  /** SCAN pattern of every machine record (the inbox and outbox lists match too: scan for hashes) */
  recordPattern: string;
  /** the machine id in a record key */
  idOfRecord(key: string): string;
  /** held by the worker whose reconciler pass runs (src/engine/reconciler.ts) */
  reconcilerLock: string;
  /** a counter written before a WAIT that must cover another connection's writes (src/engine/replica-wait.ts) */
  fence: string;
}

const MACHINE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Machine ids become parts of Redis keys and BullMQ job ids (which must not contain ':'). */
export function assertMachineId(id: string): void {
  if (!MACHINE_ID.test(id)) {
    throw new Error(`invalid machine id ${JSON.stringify(id)}: use letters, digits, '.', '_' or '-' (at most 200), starting with a letter or digit`);
  }
}

/** `s` as a literal in a Redis glob pattern */
function globLiteral(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export function makeKeys(prefix: string): Keys {
  const recordStart = `${prefix}:m:{`;
  return {
    record: (id) => `${prefix}:m:{${id}}`,
    inbox: (id) => `${prefix}:m:{${id}}:inbox`,
    outbox: (id) => `${prefix}:m:{${id}}:outbox`,
    transitions: `${prefix}:transitions`,
    stats: `${prefix}:stats`,
    index: (kind) => `${prefix}:index:${kind}`,
    recordPattern: `${globLiteral(recordStart)}*}`,
    idOfRecord: (key) => key.slice(recordStart.length, -1),
    reconcilerLock: `${prefix}:reconciler`,
    fence: `${prefix}:fence`,
  };
}
