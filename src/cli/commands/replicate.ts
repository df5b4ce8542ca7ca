import type { Report } from '../../replication/report.js';
import { isFinished, runReport, startReplication, type ReplicateOptions } from '../../replication/runs.js';
import type { App } from '../app.js';
import { RunProgress } from '../progress.js';

/** Starts a run and follows it to its end, showing progress; returns the final report. */
export async function replicateAndWait(app: App, o: ReplicateOptions, show: { progress: boolean; label?: string }): Promise<Report> {
  const runId = await startReplication(app.engine, o);
  const progress = new RunProgress(show.label ?? 'run', show.progress);
  try {
    for (;;) {
      // one read of the run per poll: the report is made from the same record
      const read = await app.engine.snapshotOf(runId);
      const report = read && (await runReport(app.engine, runId, read));
      if (report) progress.update(report);
      if (report && isFinished(read.record)) return report;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    progress.stop();
  }
}
