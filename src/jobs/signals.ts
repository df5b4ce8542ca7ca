import type { Engine } from '../engine/engine.js';
import { InvalidArgumentError } from '../errors/index.js';
import { noSuchJob } from './errors.js';
import { activeInvocation, invokeJob } from './invoke.js';
import type { JobStore } from './store.js';

export interface SignalOutcome {
  outcome: string;
  /** machines the signal's event was delivered to */
  machines: string[];
}

/** Active machines of a tree, the root first (children are the record's machine children). */
export async function activeTree(engine: Engine, rootId: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (id: string) => {
    const rec = await engine.get(id);
    if (!rec || rec.status !== 'active') return;
    out.push(id);
    for (const c of Object.values(rec.children)) if (c.type === 'machine' && c.instanceId) await walk(c.instanceId);
  };
  await walk(rootId);
  return out;
}

/**
 * zrepl's `signal`: `wakeup` starts an invocation now, or, when one is running, cuts every retry
 * wait in it short; `reset` ends the running invocation (each of its machines goes to
 * PermanentError "reset by operator"), so the next firing starts afresh.
 */
export async function signalJob(engine: Engine, jobs: JobStore, name: string, signal: string, now = Date.now()): Promise<SignalOutcome> {
  if (signal !== 'wakeup' && signal !== 'reset') {
    throw new InvalidArgumentError(`signal: ${JSON.stringify(signal)} is not a signal: use wakeup or reset`, { code: 'INVALID_ARGUMENT', details: { field: 'signal' } });
  }
  const job = await jobs.get(name);
  if (!job) throw noSuchJob(name);
  const active = await activeInvocation(engine, jobs, name);
  if (signal === 'wakeup' && !active) {
    const inv = await invokeJob(engine, jobs, name, now, job);
    return { outcome: `started invocation ${inv.runId}`, machines: [inv.runId] };
  }
  if (!active) return { outcome: `job ${name} has no active invocation: nothing to reset`, machines: [] };
  const machines = await activeTree(engine, active);
  const type = signal === 'wakeup' ? 'ferry.wakeup' : 'ferry.reset';
  // leaves first, so a parent hears its children end before it ends itself
  for (const id of [...machines].reverse()) await engine.send(id, { type });
  return {
    outcome: signal === 'wakeup'
      ? `woke up invocation ${active}: waits for a retry end now (${machines.length} machines)`
      : `reset invocation ${active}: ${machines.length} machines end in PermanentError`,
    machines,
  };
}
