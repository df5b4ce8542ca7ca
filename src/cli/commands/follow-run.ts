import type { Report } from '../../replication/report.js';
import type { Orchestrator, RunView } from '../../service/views.js';
import { RunProgress } from '../progress.js';

/** The final states of job invocations and replications (their machines' `type: 'final'` states). */
const FINAL_STATES = new Set(['Completed', 'PermanentError']);

export const isFinalRun = (r: RunView): boolean => FINAL_STATES.has(r.state);

/** A run as one report for the progress bars: an invocation's filesystems are `to-<i>/<filesystem>`. */
export function progressReport(r: RunView): Report {
  const filesystems = r.kind === 'replication'
    ? r.filesystems
    : r.replications.flatMap((rep, i) => rep.filesystems.map((f) => ({ ...f, name: `to-${i}/${f.name}` })));
  return { id: r.id, state: r.state, problem: r.problem, sleepUntil: null, filesystems };
}

/**
 * Follows a run (an invocation or a replication) through the orchestrator, over Redis or `--server`
 * alike, until it ends or `signal` aborts; shows progress on stderr. Returns the last view read.
 */
export async function followRun(api: Orchestrator, runId: string, o: { progress: boolean; label: string; pollMs?: number }, signal: AbortSignal): Promise<RunView> {
  const progress = new RunProgress(o.label, o.progress);
  try {
    for (;;) {
      const view = await api.getRun(runId);
      progress.update(progressReport(view));
      if (isFinalRun(view) || signal.aborted) return view;
      await new Promise((r) => setTimeout(r, o.pollMs ?? 500));
    }
  } finally {
    progress.stop();
  }
}
