import { readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';

/**
 * Who holds a lock, written into its generation file. The lease decides in general; these fields
 * let a process that shares the holder's kernel and PID namespace see at once that the holder is
 * dead, so a crashed worker's filesystem is taken over without waiting out the lease. A process in
 * another container (another PID namespace) cannot tell, and waits for the lease as before.
 */
export interface Holder {
  host: string;
  pid: number;
  token: string;
  at: string;
  /** the kernel's boot id: PIDs of another boot mean nothing */
  bootId?: string;
  /** the holder's PID namespace (`pid:[inode]`): PIDs of another namespace mean nothing */
  pidNs?: string;
  /** the holder's start time in clock ticks since boot: tells a reused PID from the holder */
  startTicks?: string;
}

interface Here { bootId?: string; pidNs?: string; startTicks?: string }

let here: Promise<Here> | null = null;

/** /proc/PID/stat's 22nd field; the command name (2nd) may hold spaces and parentheses */
function startTicksOf(stat: string): string | undefined {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

const orUndefined = <T>(p: Promise<T>) => p.catch(() => undefined);

function describeHere(): Promise<Here> {
  here ??= (async () => ({
    bootId: (await orUndefined(readFile('/proc/sys/kernel/random/boot_id', 'utf8')))?.trim(),
    pidNs: await orUndefined(readlink('/proc/self/ns/pid')),
    startTicks: startTicksOf((await orUndefined(readFile('/proc/self/stat', 'utf8'))) ?? ''),
  }))();
  return here;
}

export async function describeHolder(token: string, at: Date): Promise<Holder> {
  return { host: hostname(), pid: process.pid, token, at: at.toISOString(), ...(await describeHere()) };
}

/**
 * True only when the holder provably no longer runs: same boot and PID namespace as this process,
 * and its PID is gone or now names a process started at another time. Anything unknown is false.
 */
export async function holderIsDead(raw: string): Promise<boolean> {
  let h: Partial<Holder>;
  try {
    h = JSON.parse(raw) as Partial<Holder>;
  } catch {
    return false;
  }
  const me = await describeHere();
  if (!h.bootId || !h.pidNs || !h.startTicks || !Number.isInteger(h.pid)) return false;
  if (h.bootId !== me.bootId || h.pidNs !== me.pidNs) return false;
  if (h.pid === process.pid) return h.startTicks !== me.startTicks;
  const stat = await readFile(`/proc/${h.pid}/stat`, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : undefined));
  if (stat === undefined) return false;
  return stat === null || startTicksOf(stat) !== h.startTicks;
}
