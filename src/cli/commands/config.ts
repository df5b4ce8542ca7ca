import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { ArchiveLoops } from '../../config/archive-loops.js';
import type { ApplyPlan } from '../../config/apply.js';
import type { DesiredState } from '../../config/check.js';
import type { ConfigRedis } from '../../config/redis-section.js';
import { isoTime } from '../../util/time.js';
import type { App, GlobalOptions } from '../app.js';

// the config modules load when a command runs, not with `ferry --help` (src/cli/main.ts)
const checks = () => import('../../config/check.js');
const applying = () => import('../../config/apply.js');
const problems = () => import('../../config/problems.js');
const appModule = () => import('../app.js');

interface CliContext {
  /** `file`: the config file's `redis:` section, below the environment and the flags */
  globals: (file?: ConfigRedis | null) => GlobalOptions;
  printJson: (v: unknown) => void;
  /** runs the action and sets the exit status */
  exit: (code: Promise<number>) => Promise<void>;
}

/** The file's desired state; ConfigInvalidError (exit 2) listing every problem. Touches neither data nor Redis. */
export async function loadConfig(file: string): Promise<DesiredState> {
  const r = await (await checks()).checkConfigFile(file);
  if (!r.desired) throw new (await problems()).ConfigInvalidError(file, r.problems);
  return r.desired;
}

/** Plans, and unless `dryRun` carries out, what makes Redis match the file. */
export async function applyConfig(app: Pick<App, 'jobs' | 'scheduler' | 'config'>, desired: DesiredState, opts: { dryRun?: boolean; prune?: boolean } = {}): Promise<ApplyPlan> {
  const deps = { jobs: app.jobs, scheduler: app.scheduler, store: app.config };
  const { executePlan, planApply } = await applying();
  const plan = await planApply(desired, deps, { prune: opts.prune });
  if (!opts.dryRun) await executePlan(plan, deps);
  return plan;
}

/**
 * `ferry serve --config FILE`: applies the file now (its archives run in this process) and again
 * on every SIGHUP. A file that fails its check on SIGHUP changes nothing: its problems are logged
 * and the last good state stays.
 */
export async function serveConfig(app: App, file: string, desired: DesiredState, print: (line: string) => void): Promise<{ stop(): Promise<void> }> {
  const [{ startArchiveLoops }, { formatPlan }, { ConfigInvalidError, formatProblem }] = await Promise.all([import('../../config/archive-loops.js'), applying(), problems()]);
  const loops: ArchiveLoops = startArchiveLoops({ engine: app.engine, metrics: app.metrics, log: app.log });
  const apply = async (d: DesiredState) => {
    const plan = await applyConfig(app, d);
    for (const line of formatPlan(plan, false)) print(`config ${file}: ${line}`);
    loops.replace(d.resolvedArchives);
  };
  await apply(desired);
  let running: Promise<void> = Promise.resolve();
  const onHup = () => {
    running = running.then(async () => {
      try {
        await apply(await loadConfig(file));
      } catch (err) {
        const problems = err instanceof ConfigInvalidError ? err.problems.map((p) => formatProblem(file, p)) : undefined;
        app.log.error({ err: (err as Error).message.split('\n')[0], problems }, 'config not applied on SIGHUP: the last applied state stays');
        print(`config ${file}: not applied: ${(err as Error).message}`);
      }
    });
  };
  process.on('SIGHUP', onHup);
  return {
    async stop() {
      process.off('SIGHUP', onHup);
      await running;
      await loops.stop();
    },
  };
}

/** `ferry config check|export` and `ferry apply`. */
export function registerConfigCommands(program: Command, c: CliContext): void {
  const config = program.command('config').description('the config file: agents, jobs and archives in one YAML file (see docs/config.md)');

  config.command('check')
    .description('validate a config file without touching data or Redis: syntax, keys (with a did-you-mean), endpoints, cron, regexes, durations, sinks; every problem with its line')
    .argument('<file>', 'the YAML config file')
    .option('--json', 'print JSON: { ok, problems: [{ line, col, path, message }] }')
    .action((file: string, o: { json?: boolean }) => c.exit((async () => {
      const [{ checkConfigFile }, { formatProblem }] = await Promise.all([checks(), problems()]);
      const r = await checkConfigFile(file);
      if (o.json) c.printJson({ ok: !!r.desired, problems: r.problems });
      else if (r.desired) {
        const d = r.desired;
        process.stdout.write(`${file}: ok (${Object.keys(d.agents).length} agents, ${d.jobs.length} jobs, ${Object.keys(d.archives).length} archives)\n`);
      } else {
        for (const p of r.problems) process.stderr.write(`${formatProblem(file, p)}\n`);
        process.stderr.write(`${file}: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}\n`);
      }
      return r.desired ? 0 : 2;
    })()));

  config.command('export')
    .description('write what Redis holds (every job, the agents and archives of the last apply) as a config file')
    .option('--output <file>', 'write to this file instead of stdout')
    .action((o: { output?: string }) => c.exit((async () => {
      const [{ openApp }, { exportConfig }] = await Promise.all([appModule(), import('../../config/export.js')]);
      const opened = await openApp(c.globals(), { workers: false });
      try {
        const [jobs, applied] = await Promise.all([opened.jobs.list(), opened.config.read()]);
        const text = exportConfig(jobs, applied, [`exported by \`ferry config export\` at ${isoTime(Date.now())} (key prefix ${c.globals().prefix})`]);
        if (o.output) await writeFile(o.output, text);
        else process.stdout.write(text);
        return 0;
      } finally {
        await opened.close();
      }
    })()));

  program.command('apply')
    .description('make Redis match a config file: create, update and delete the jobs it manages and their schedules; prints the changes; a second apply changes nothing')
    .argument('<file>', 'the YAML config file (checked first: nothing changes unless it is all valid)')
    .option('--dry-run', 'print the changes only')
    .option('--prune', 'also delete jobs the file does not name that were created by hand')
    .option('--json', 'print JSON: { changes, unchanged, unmanaged, dryRun }')
    .action((file: string, o: { dryRun?: boolean; prune?: boolean; json?: boolean }) => c.exit((async () => {
      const desired = await loadConfig(file);
      const [{ openApp }, { formatPlan }] = await Promise.all([appModule(), applying()]);
      const opened = await openApp(c.globals(desired.redis), { workers: false });
      try {
        const plan = await applyConfig(opened, desired, { dryRun: !!o.dryRun, prune: !!o.prune });
        if (o.json) c.printJson({ changes: plan.changes, unchanged: plan.unchanged, unmanaged: plan.unmanaged, dryRun: !!o.dryRun });
        else process.stdout.write(`${formatPlan(plan, !!o.dryRun).join('\n')}\n`);
        return 0;
      } finally {
        await opened.close();
      }
    })()));
}
