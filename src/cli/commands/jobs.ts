import { Argument, Option, type Command } from 'commander';
import { InvalidArgumentError } from '../../errors/index.js';
import { parseKeepRulesText } from '../../jobs/keep-rules-text.js';
import type { JobSchedule, JobSpec } from '../../jobs/spec.js';
import { parseDuration } from '../duration.js';
import type { GlobalOptions } from '../app.js';
import { formatJob, formatJobs, formatRun } from '../format.js';
import { EXIT_FORCED, stopRequested } from '../shutdown.js';
import type { Orchestrator } from '../../service/views.js';
import { addServerOptions, withOrchestrator, type ServerOptions } from '../orchestrator-access.js';
import { addSendFlags, sendOptionsOfFlags, type SendFlagValues } from '../send-flags.js';
import { DEFAULT_REPLICATION_CONCURRENCY } from '../../../machines/replication-defaults.js';

interface CliContext {
  globals: () => GlobalOptions;
  positiveInt: (v: string) => number;
  /** a repeatable option's values, in order */
  collect: (value: string, previous: string[]) => string[];
  printJson: (v: unknown) => void;
  /** runs the action and sets the exit status */
  exit: (code: Promise<number>) => Promise<void>;
}

interface CreateOptions extends ServerOptions {
  sender: string;
  receiver: string[];
  every?: string;
  cron?: string;
  timezone?: string;
  snapshotPrefix?: string;
  filesystems?: string;
  includeSnapshots?: string;
  excludeSnapshots?: string;
  initial: JobSpec['initial'];
  concurrency: number;
  batch?: boolean;
  retryInitialMs: number;
  retryMaxMs: number;
  maxAttempts: number;
  replace?: boolean;
  json?: boolean;
  keepSender?: string;
  keepReceivers?: string;
}

type CreateFlags = CreateOptions & SendFlagValues;

/** `--keep-sender` and `--keep-receivers` as the job spec's retention (checked with the rest of the spec). */
function retentionFlags(o: CreateOptions): Pick<Partial<JobSpec>, 'retention'> {
  if (o.keepSender === undefined && o.keepReceivers === undefined) return {};
  return {
    retention: {
      ...(o.keepSender !== undefined ? { sender: parseKeepRulesText(o.keepSender, '--keep-sender') } : {}),
      ...(o.keepReceivers !== undefined ? { receivers: parseKeepRulesText(o.keepReceivers, '--keep-receivers') } : {}),
    } as JobSpec['retention'],
  };
}

/** `ferry job create|list|show|delete|run` and `ferry signal wakeup|reset`. */
export function registerJobCommands(program: Command, c: CliContext): void {
  const job = program.command('job').description('jobs: replicate a sender to one or more receivers on a schedule (see docs/service.md)');

  addServerOptions(addSendFlags(job.command('create')
    .description('create a job; its schedule starts at once (workers of `ferry serve`/`ferry worker` invoke it)')
    .argument('<name>', 'job name: letters, digits, _ and -')
    .requiredOption('--sender <endpoint>', 'endpoint to replicate from')
    .requiredOption('--receiver <endpoint>', 'endpoint to replicate to; repeat for fan-out (one replication per receiver)', c.collect, [] as string[])
    .option('--every <duration>', 'run every so long: 30s, 10m, 1h...')
    .option('--cron <pattern>', 'run on a cron pattern, e.g. "0 */15 * * * *" (seconds optional)')
    .option('--timezone <tz>', 'IANA time zone of --cron (default UTC)')
    .option('--snapshot-prefix <prefix>', 'take a snapshot <prefix>_<UTC time> of the sender before each run')
    .option('--filesystems <glob>', 'only filesystems matching this glob (* and ?)')
    .option('--include-snapshots <regex>', 'only replicate snapshots whose name matches')
    .option('--exclude-snapshots <regex>', 'do not replicate snapshots whose name matches')
    .addOption(new Option('--initial <policy>', 'what to send to an empty receiver filesystem').choices(['most_recent', 'all', 'fail']).default('most_recent'))
    .option('--concurrency <n>', 'filesystems replicating at once per receiver', c.positiveInt, DEFAULT_REPLICATION_CONCURRENCY)
    .option('--batch', 'send all intermediate snapshots in one stream where the driver can (zfs send -I, local btrfs send -c)')
    .option('--retry-initial-ms <ms>', 'first retry delay after a temporary error', c.positiveInt, 5000)
    .option('--retry-max-ms <ms>', 'longest retry delay', c.positiveInt, 300000)
    .option('--max-attempts <n>', 'attempts of a step before it is a permanent error', c.positiveInt, 10)
    .option('--keep-sender <rules>', 'prune the sender after each run: not_replicated,last_n=N[:REGEX],grid=SPEC[:REGEX],regex=R,!regex=R or a JSON list (docs/retention.md)')
    .option('--keep-receivers <rules>', 'prune every receiver after each run, by the same syntax')
    .option('--replace', 'replace a job of the same name')
    .option('--json', 'print JSON')))
    .action((name: string, o: CreateFlags) => c.exit((async () => {
      if (o.every && o.cron) throw new InvalidArgumentError('--every and --cron: give one schedule, not both', { code: 'INVALID_ARGUMENT' });
      let schedule: JobSchedule | undefined;
      if (o.every) schedule = { everyMs: parseDuration(o.every, '--every') };
      else if (o.cron) schedule = { cron: o.cron, ...(o.timezone ? { timezone: o.timezone } : {}) };
      else if (o.timezone) throw new InvalidArgumentError('--timezone applies to --cron only', { code: 'INVALID_ARGUMENT' });
      const send = sendOptionsOfFlags(o);
      const spec: Partial<JobSpec> = {
        name, sender: o.sender, receivers: o.receiver, schedule, snapshotPrefix: o.snapshotPrefix, filesystems: o.filesystems,
        includeSnapshots: o.includeSnapshots, excludeSnapshots: o.excludeSnapshots, initial: o.initial, concurrency: o.concurrency,
        batch: !!o.batch, retry: { initialMs: o.retryInitialMs, maxMs: o.retryMaxMs, maxAttempts: o.maxAttempts },
        ...retentionFlags(o),
        ...(send ? { send } : {}),
      };
      return withOrchestrator(c.globals(), o, async (api) => {
        const view = await api.createJob(spec, { replace: !!o.replace });
        if (o.json) c.printJson(view);
        else process.stdout.write(`${formatJob(view)}\n`);
        return 0;
      });
    })()));

  addServerOptions(job.command('list').description('list jobs').option('--json', 'print JSON'))
    .action((o: ServerOptions & { json?: boolean }) => c.exit(withOrchestrator(c.globals(), o, async (api) => {
      const jobs = await api.listJobs();
      if (o.json) c.printJson({ jobs });
      else process.stdout.write(jobs.length ? `${formatJobs(jobs)}\n` : 'no jobs yet: create one with `ferry job create NAME --sender S --receiver R --every 10m`\n');
      return 0;
    })));

  addServerOptions(job.command('show').description('show a job and its latest invocations').argument('<name>').option('--json', 'print JSON'))
    .action((name: string, o: ServerOptions & { json?: boolean }) => c.exit(withOrchestrator(c.globals(), o, async (api) => {
      const view = await api.getJob(name);
      const runs = await api.listRuns({ job: name, limit: 10 });
      if (o.json) c.printJson({ ...view, runs });
      else {
        process.stdout.write(`${formatJob(view)}\n`);
        for (const r of runs) process.stdout.write(`  ${r.id}  ${r.state}${r.problem ? `  ${r.problem}` : ''}\n`);
      }
      return 0;
    })));

  addServerOptions(job.command('delete').description('delete a job and its schedule (its runs and reports stay)').argument('<name>'))
    .action((name: string, o: ServerOptions) => c.exit(withOrchestrator(c.globals(), o, async (api) => {
      await api.deleteJob(name);
      process.stdout.write(`deleted job ${name}\n`);
      return 0;
    })));

  addServerOptions(job.command('run').description('invoke a job now, whatever its schedule')
    .argument('<name>')
    .option('--wait', WAIT_HELP)
    .option('--dry-run', 'print what an invocation would replicate and prune now (steps, snapshots); take, send and destroy nothing')
    .option('--json', 'print JSON'))
    .action((name: string, o: ServerOptions & { json?: boolean; wait?: boolean; dryRun?: boolean }) => c.exit(withOrchestrator(c.globals(), o, async (api) => {
      if (o.dryRun) return (await import('./dry-run.js')).printJobDryRun(await api.getJob(name), !!o.json, c.printJson);
      const r = await api.runJob(name);
      const note = r.started ? `started ${r.runId}` : `${r.runId} is still running: not started again`;
      if (o.wait) return waitFor(api, r.runId, note, o, c);
      if (o.json) c.printJson(r);
      else process.stdout.write(`${note}\n`);
      return 0;
    }, { workers: !!o.wait })));

  addServerOptions(program.command('signal')
    .description('as zrepl: wakeup runs a job now (or cuts its retry waits short); reset ends its running invocation')
    .addArgument(new Argument('<signal>', 'wakeup or reset').choices(['wakeup', 'reset']))
    .argument('<job>', 'job name')
    .option('--wait', `wakeup: ${WAIT_HELP}`)
    .option('--json', 'print JSON'))
    .action((signal: string, name: string, o: ServerOptions & { json?: boolean; wait?: boolean }) => c.exit((async () => {
      if (o.wait && signal !== 'wakeup') throw new InvalidArgumentError('--wait goes with wakeup: a reset ends the invocation it signals', { code: 'INVALID_ARGUMENT' });
      return withOrchestrator(c.globals(), o, async (api) => {
        const r = await api.signalJob(name, signal);
        // the invocation started or woken is the first machine the signal reached
        if (o.wait && r.machines[0]) return waitFor(api, r.machines[0], r.outcome, o, c);
        if (o.json) c.printJson(r);
        else process.stdout.write(`${r.outcome}\n`);
        return 0;
      }, { workers: !!o.wait });
    })()));
}

const WAIT_HELP = 'follow the invocation to its end with progress, print its report, and exit as `ferry replicate` does (0 only if it ends Completed)';

/** Follows an invocation to its end and prints it; the exit status of `--wait`. */
async function waitFor(api: Orchestrator, runId: string, note: string, o: { json?: boolean }, c: CliContext): Promise<number> {
  process.stderr.write(`ferry: ${note}; waiting for it to end (Ctrl-C stops waiting, not the invocation)\n`);
  const { followRun, isFinalRun } = await import('./follow-run.js');
  const view = await followRun(api, runId, { progress: !o.json, label: 'invocation' }, stopRequested);
  if (o.json) c.printJson(view);
  else process.stdout.write(`${formatRun(view)}\n`);
  if (!isFinalRun(view)) return EXIT_FORCED;
  return view.state === 'Completed' ? 0 : 1;
}
