import type { Report } from '../../replication/report.js';
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
