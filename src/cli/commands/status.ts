import type { Command } from 'commander';
import type { RunReads } from '../../service/views.js';
import type { GlobalOptions } from '../app.js';
import { formatRun, formatRuns, formatUnhealthy } from '../format.js';
import { LiveView } from '../live-view.js';
import { addServerOptions, withRunReads, type ServerOptions } from '../orchestrator-access.js';
import { stopRequested } from '../shutdown.js';
import { isoTime } from '../../util/time.js';

interface StatusOptions extends ServerOptions {
  job?: string;
  limit: number;
  json?: boolean;
  watch?: boolean;
  interval: number;
}

interface StatusContext {
  globals: () => GlobalOptions;
  positiveInt: (v: string) => number;
  printJson: (v: unknown) => void;
}

/** One reading of the status: the text a person reads and the JSON a script reads. */
async function readStatus(api: RunReads, run: string | undefined, o: StatusOptions): Promise<{ text: string; json: unknown }> {
  // agents that are down, whichever run waits for them: the first thing to fix
  const [targets, view, runs] = await Promise.all([
    api.listTargets(),
    run ? api.getRun(run) : null,
    run ? [] : api.listRuns({ job: o.job, limit: o.limit }),
  ]);
  const unhealthy = targets.filter((t) => !t.healthy);
  const section = formatUnhealthy(targets);
  if (view) return { text: `${formatRun(view)}${section ? `\n${section}` : ''}`, json: { ...view, unhealthyTargets: unhealthy } };
  const lines = [runs.length ? formatRuns(runs) : 'no runs yet: start one with `ferry replicate SENDER RECEIVER`, `ferry job run JOB` or `ferry demo`'];
  if (section) lines.push(section);
  return { text: lines.join('\n'), json: { runs, unhealthyTargets: unhealthy } };
}

/**
 * Reads the status every `interval` seconds until Ctrl-C: redrawn in place on a terminal; elsewhere
 * (a pipe, a file) each reading is printed after a `--- <time>` line, or as one JSON line with --json.
 */
async function watchStatus(api: RunReads, run: string | undefined, o: StatusOptions, printJson: (v: unknown) => void): Promise<void> {
  const live = process.stdout.isTTY && !o.json ? new LiveView(process.stdout) : null;
  while (!stopRequested.aborted) {
    const s = await readStatus(api, run, o);
    const head = `ferry status at ${isoTime(Date.now())}, every ${o.interval}s`;
    if (o.json) printJson(s.json);
    else if (live) live.draw(`${head} (Ctrl-C to stop)\n\n${s.text}`);
    else process.stdout.write(`--- ${head}\n${s.text}\n`);
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        stopRequested.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, o.interval * 1000);
      stopRequested.addEventListener('abort', done);
    });
  }
}

/** `ferry status [RUN] [--watch]`. */
export function registerStatusCommand(program: Command, c: StatusContext): void {
  addServerOptions(program.command('status')
    .description('show a run (job invocation or replication), or the latest runs and the unhealthy targets; --watch keeps it up to date')
    .argument('[run]', 'run id')
    .option('--job <name>', 'only the invocations of this job')
    .option('--limit <n>', 'runs to list', c.positiveInt, 20)
    .option('--watch', 'read it again every --interval until Ctrl-C: redrawn in place on a terminal; else each reading follows the last (--json: one line each)')
    .option('--interval <seconds>', 'with --watch: seconds between readings', c.positiveInt, 2)
    .option('--json', 'print JSON'))
    .action(async (run: string | undefined, o: StatusOptions) => {
      process.exitCode = await withRunReads(c.globals(), o, async (api) => {
        if (o.watch) {
          await watchStatus(api, run, o, c.printJson);
          return 0;
        }
        const s = await readStatus(api, run, o);
        if (o.json) c.printJson(s.json);
        else process.stdout.write(`${s.text}\n`);
        return 0;
      });
    });
}
