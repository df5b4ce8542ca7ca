import type { Command } from 'commander';
import type { PruneReport } from '../../jobs/prune.js';
import type { App } from '../app.js';

interface PruneContext {
  /** opens the app with workers, runs `fn`, sets the exit status from its result */
  withApp: (fn: (app: App) => Promise<number>) => Promise<void>;
  printJson: (v: unknown) => void;
}

/** Starts an on-demand pruning of a job and waits for its end; returns the report. */
export async function pruneAndWait(app: App, job: string, dryRun: boolean): Promise<PruneReport> {
  const [{ pruneReport, startPruning }, { isFinished }] = await Promise.all([import('../../jobs/prune.js'), import('../../replication/runs.js')]);
  const runId = await startPruning(app.engine, app.jobs, job, { dryRun });
  for (;;) {
    const committed = app.nextCommit(runId, 250);
    const rec = await app.engine.get(runId);
    if (isFinished(rec)) return (await pruneReport(app.engine, runId))!;
    await committed;
  }
}

/** `ferry prune JOB [--dry-run] [--json]`. */
export function registerPruneCommand(program: Command, c: PruneContext): void {
  program.command('prune')
    .description('prune a job\'s sender and receivers by its retention policy now, and wait; refused while the job runs')
    .argument('<job>', 'job name')
    .option('--dry-run', 'print what would be destroyed and kept, and why; destroy nothing')
    .option('--json', 'print the report as one JSON object')
    .action((job: string, o: { dryRun?: boolean; json?: boolean }) => c.withApp(async (app) => {
      const report = await pruneAndWait(app, job, !!o.dryRun);
      if (o.json) c.printJson(report);
      else process.stdout.write(`${(await import('../../jobs/prune.js')).formatPruneReport(report)}\n`);
      return report.state === 'Completed' ? 0 : 1;
    }));
}
