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
      const rec = await app.engine.get(runId);
      const report = await runReport(app.engine, runId);
      if (report) progress.update(report);
      if (isFinished(rec) && report) return report;
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    progress.stop();
  }
}
