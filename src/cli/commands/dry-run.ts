import { formatJobDryRun, planJobDryRun } from '../../jobs/dry-run.js';
import { formatReplicationDryRun, planReplicationDryRun } from '../../replication/dry-run.js';
import type { ReplicateOptions } from '../../replication/runs.js';
import type { JobView } from '../../service/views.js';

/** `ferry replicate … --dry-run`: the plan, printed; nothing starts (no Redis needed). */
export async function printReplicationDryRun(o: ReplicateOptions, json: boolean, printJson: (v: unknown) => void): Promise<void> {
  const plan = await planReplicationDryRun(o);
  if (json) printJson(plan);
  else process.stdout.write(`${formatReplicationDryRun(plan)}\n`);
}

/** `ferry job run JOB --dry-run`: what an invocation would do now, printed; nothing is taken, sent or destroyed. */
export async function printJobDryRun(job: JobView, json: boolean, printJson: (v: unknown) => void): Promise<number> {
  const plan = await planJobDryRun(job.spec);
  if (json) printJson(plan);
  else process.stdout.write(`${formatJobDryRun(plan)}\n`);
  return 0;
}
