import type { Command } from 'commander';
import type { Orchestrator, PruneReportView } from '../../service/views.js';
import type { GlobalOptions } from '../app.js';
import { addServerOptions, withOrchestrator, type ServerOptions } from '../orchestrator-access.js';

interface PruneContext {
  globals: () => GlobalOptions;
  printJson: (v: unknown) => void;
  exit: (code: Promise<number>) => Promise<void>;
}

/** Starts an on-demand pruning of a job and waits for its end (locally or over --server); returns the report. */
export async function pruneAndWait(api: Orchestrator, job: string, dryRun: boolean): Promise<PruneReportView> {
  const { runId } = await api.pruneJob(job, { dryRun });
  for (;;) {
    const report = await api.getPruneReport(runId);
    if (report.finished) return report;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `ferry prune JOB [--dry-run] [--json] [--server ADDR]`. */
export function registerPruneCommand(program: Command, c: PruneContext): void {
  addServerOptions(program.command('prune')
    .description('prune a job\'s sender and receivers by its retention policy now, and wait; refused while the job runs')
    .argument('<job>', 'job name')
    .option('--dry-run', 'print what would be destroyed and kept, and why; destroy nothing')
    .option('--json', 'print the report as one JSON object'))
    .action((job: string, o: ServerOptions & { dryRun?: boolean; json?: boolean }) => c.exit(withOrchestrator(c.globals(), o, async (api) => {
      const { finished: _finished, ...report } = await pruneAndWait(api, job, !!o.dryRun);
      if (o.json) c.printJson(report);
      else process.stdout.write(`${(await import('../../jobs/prune.js')).formatPruneReport(report)}\n`);
      return report.state === 'Completed' ? 0 : 1;
    }, { workers: true })));
}
