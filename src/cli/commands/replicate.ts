import type { Report } from '../../replication/report.js';
import { openEndpoint } from '../../storage/endpoint.js';
import { isFinished, startReplication, type ReplicateOptions } from '../../replication/runs.js';
import { runReport } from '../../replication/report.js';
import type { App } from '../app.js';
import { RunProgress } from '../progress.js';

/** How often the run is read when no commit of this process woke the reader (other workers; byte progress). */
const FALLBACK_READ_MS = 250;

/** Starts a run and follows it to its end, showing progress; returns the final report. */
export async function replicateAndWait(app: App, o: ReplicateOptions, show: { progress: boolean; label?: string }): Promise<Report> {
  const runId = await startReplication(app.engine, o);
  const progress = new RunProgress(show.label ?? 'run', show.progress);
  try {
    for (;;) {
      // listening before reading: a commit between the read and the wait still wakes it
      const committed = app.nextCommit(runId, FALLBACK_READ_MS);
      // one read of the run per round: the report is made from the same record
      const read = await app.engine.snapshotOf(runId);
      const report = read && (await runReport(app.engine, runId, read));
      if (report) progress.update(report);
      if (report && isFinished(read.record)) return report;
      // woken by this process's own commits in the run; a slow read covers workers elsewhere and progress
      await committed;
    }
  } finally {
    progress.stop();
  }
}

/** one-step-per-snapshot runs at least this long earn the hint below */
const BATCH_HINT_STEPS = 10;

/**
 * A line for stderr when a run without `--batch` sent a filesystem's snapshots one step each (at
 * least BATCH_HINT_STEPS of them) between endpoints that can batch: catching up that way costs
 * a step's fixed work per snapshot, which one stream does not (README, "Endpoints"). Null otherwise.
 */
export function batchHint(report: Report, o: { sender: string; receiver: string; batch: boolean }): string | null {
  if (o.batch) return null;
  const long = report.filesystems.filter((f) => f.stepsDone >= BATCH_HINT_STEPS);
  if (!long.length || !openEndpoint(o.sender).capabilities.batch || !openEndpoint(o.receiver).capabilities.batch) return null;
  const most = long.reduce((a, b) => (b.stepsDone > a.stepsDone ? b : a));
  const others = long.length > 1 ? ` (and ${long.length - 1} more filesystem${long.length > 2 ? 's' : ''})` : '';
  return `ferry: ${most.name} took ${most.stepsDone} steps, one per snapshot${others}; --batch sends a filesystem's pending snapshots in one stream, much faster when many are pending\n`;
}
