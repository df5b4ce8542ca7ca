import { Command, CommanderError, InvalidArgumentError as CommanderArgError, Option } from 'commander';
import { FerryError, InvalidArgumentError } from '../errors/index.js';
import { DEFAULT_REDIS_WAIT_MS, redisSettingsFromEnv } from '../util/redis-target.js';
import type { ConfigRedis } from '../config/redis-section.js';
import { redisOptionsOf, type RedisFlags } from './redis-options.js';
import type { InitialReplicationPolicy } from '../../machines/replication.js';
import type { App, GlobalOptions } from './app.js';
import { addServerOptions, withOrchestrator, type ServerOptions } from './orchestrator-access.js';
import { registerPruneCommand } from './commands/prune.js';
import { registerJobCommands } from './commands/jobs.js';
import { addSendFlags, sendOptionsOfFlags, type SendFlagValues } from './send-flags.js';
import { registerConfigCommands } from './commands/config.js';
import { ARCHIVE_DEFAULTS } from '../config/defaults.js';
import { registerStatusCommand } from './commands/status.js';
import { registerCompletionCommand } from './commands/completion.js';
import { registerHealthCommand } from './commands/health.js';
import { addEndpointHelp } from './endpoint-help.js';
import { FERRY_VERSION } from './version.js';
import { MACHINE_KINDS } from '../service/views.js';
import type { RestoreFlags } from './commands/restore.js';
import type { ServeHandle } from '../service/serve.js';
import { addTlsOptions, serverTls, uiTlsFiles, type TlsFlags } from './tls-options.js';
import { isoTime } from '../util/time.js';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, installShutdown, stoppedByClosedStdout, stopRequested } from './shutdown.js';
import { DEFAULT_FINISHED_RETENTION_MS, DEFAULT_HISTORY_DAYS, historyDays } from './history-option.js';
import { DEFAULT_REPLICATION_CONCURRENCY } from '../../machines/replication-defaults.js';

// Only commander and the definitions of the commands load at start: each action imports what it
// uses (`ferry --help` loads no driver, no gRPC, no BullMQ; `ferry list dir:…` no Redis).

/**
 * Exit statuses: 0 success (and a long-running command stopped by a signal, or any command whose stdout
 * reader went away), 1 the run did not complete, 2 bad input, 3 anything else, 130 a one-shot command
 * interrupted, or a stop forced by a second signal or --shutdown-timeout-ms (src/cli/shutdown.ts).
 */
const EXIT = { ok: 0, failed: 1, usage: 2, error: 3 } as const;

const program = new Command('ferry')
  .description('Replicate filesystem snapshots between storage nodes with durable XState machines on Redis/BullMQ.\nRedis: REDIS_URL, or REDIS_SENTINELS + REDIS_SENTINEL_MASTER (docs/ha.md), or an embedded redis-server started from PATH.')
  .option('--key-prefix <prefix>', 'prefix of every Redis key and BullMQ queue', 'ferry')
  .option('--log-level <level>', 'pino log level on stderr (trace, debug, info, warn, error, silent)', process.env.FERRY_LOG_LEVEL ?? 'warn')
  .option('--redis-url <url>', 'Redis: redis://host:port[/db] or rediss:// (TLS); env REDIS_URL. No password here: REDIS_PASSWORD_FILE')
  .option('--redis-sentinels <list>', 'Redis through Sentinel: host:port,host:port of the sentinels; env REDIS_SENTINELS (docs/ha.md)')
  .option('--redis-sentinel-master <name>', 'the master group name the sentinels monitor; env REDIS_SENTINEL_MASTER')
  .option('--redis-username <user>', 'ACL user of the Redis servers; env REDIS_USERNAME')
  .option('--redis-password-file <file>', 'file holding the Redis password; env REDIS_PASSWORD_FILE')
  .option('--redis-sentinel-username <user>', "ACL user of the sentinels; env REDIS_SENTINEL_USERNAME")
  .option('--redis-sentinel-password-file <file>', "file holding the sentinels' password; env REDIS_SENTINEL_PASSWORD_FILE")
  .option('--redis-wait-ms <ms>', 'how long a command waits for an unreachable Redis before it fails with status 3 (serve and worker wait as long as it takes)', (v) => positiveInt(v), DEFAULT_REDIS_WAIT_MS)
  .option('--min-replicas <n|auto>', 'replicas that must hold each commit before its effects start (Redis WAIT; docs/ha.md); auto: 1 when the primary has a replica, else 0', minReplicas, 'auto' as const)
  .option('--replica-timeout-ms <ms>', 'how long a commit waits for --min-replicas; a commit not confirmed in time is retried', (v) => positiveInt(v), 1000)
  .option('--shutdown-timeout-ms <ms>', 'after SIGINT/SIGTERM, exit anyway (status 130) if stopping takes longer; a second signal exits at once', (v) => positiveInt(v), DEFAULT_SHUTDOWN_TIMEOUT_MS)
  .version(FERRY_VERSION, '-V, --version', "print ferry's version")
  // usage errors (unknown command or option, missing or bad argument) come back here to exit 2, not commander's 1
  .exitOverride()
  .showHelpAfterError('(add --help for usage)')
  .hook('preAction', () => installShutdown({ timeoutMs: (program.opts() as { shutdownTimeoutMs: number }).shutdownTimeoutMs }));

interface GlobalFlags extends RedisFlags {
  keyPrefix: string; logLevel?: string;
}

/** The global options; `file`: the `redis:` section of the config file a command reads (serve --config, apply). */
const globals = (file?: ConfigRedis | null): GlobalOptions => {
  const o = program.opts() as GlobalFlags;
  const given = (name: keyof RedisFlags) => program.getOptionValueSource(name) === 'cli';
  return { prefix: o.keyPrefix, logLevel: o.logLevel, ...redisOptionsOf(o, given, redisSettingsFromEnv(), file) };
};

/** --min-replicas: a whole number ≥ 0, or auto */
function minReplicas(v: string): number | 'auto' {
  if (v === 'auto') return 'auto';
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new CommanderArgError(`expected a whole number ≥ 0 or "auto", got ${JSON.stringify(v)}`);
  return n;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new CommanderArgError(`expected a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** a machine kind as --kind takes it */
function machineKind(v: string): string {
  if (!(MACHINE_KINDS as readonly string[]).includes(v)) throw new CommanderArgError(`expected one of ${MACHINE_KINDS.join(', ')}, got ${JSON.stringify(v)}`);
  return v;
}

/** a repeatable option's values, in order */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The options of a process that works on the queues (`ferry worker`, `ferry serve`), read back as WorkerFlags. */
function addWorkerOptions(cmd: Command): Command {
  return cmd
    .option('--concurrency <n>', 'effects (steps, uploads) run at once by this worker', positiveInt, 8)
    .option('--lock-duration-ms <ms>', "a job's lock; a dead worker's job is retried once it lapses (give every worker the same)", positiveInt, 30000)
    .option('--stalled-interval-ms <ms>', 'how often to look for jobs of dead workers (give every worker the same)', positiveInt, 30000)
    .option('--reconcile-interval-ms <ms>', 'how often one worker of the cluster repairs machines waiting on jobs that no longer exist (docs/engine.md)', positiveInt, 60000)
    .addOption(new Option('--history-days <days|forever>', 'days finished runs and their machines stay in Redis, then go (docs/engine.md "Retention"); forever or 0: for good')
      .argParser(historyDays).default(DEFAULT_FINISHED_RETENTION_MS, String(DEFAULT_HISTORY_DAYS)));
}

interface WorkerFlags {
  concurrency: number;
  lockDurationMs: number;
  stalledIntervalMs: number;
  reconcileIntervalMs: number;
  /** --history-days, in milliseconds */
  historyDays: number;
}

/** WorkerFlags as openApp and startAppWorkers take them: a long-running worker offers a reconciler pass at once. */
function workerOptions(o: WorkerFlags): { effectConcurrency: number; lockDurationMs: number; stalledIntervalMs: number; reconcileIntervalMs: number; reconcileAtStart: true; finishedRetentionMs: number } {
  return { effectConcurrency: o.concurrency, lockDurationMs: o.lockDurationMs, stalledIntervalMs: o.stalledIntervalMs, reconcileIntervalMs: o.reconcileIntervalMs, reconcileAtStart: true, finishedRetentionMs: o.historyDays };
}

/** Resolves on the first SIGINT/SIGTERM (or a closed stdout): long-running commands then stop in order. */
function untilStopRequested(): Promise<void> {
  return new Promise((resolve) => {
    if (stopRequested.aborted) resolve();
    else stopRequested.addEventListener('abort', () => resolve(), { once: true });
  });
}

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Runs an action with the app open, closing it whatever happens, and sets the exit status. */
async function withApp(opts: { workers: boolean; effectConcurrency?: number; graceful?: boolean }, fn: (app: App) => Promise<number>): Promise<void> {
  const { openApp } = await import('./app.js');
  const app = await openApp(globals(), opts);
  let code: number = EXIT.error;
  try {
    code = await fn(app);
  } finally {
    await app.close();
  }
  process.exitCode = code;
}

registerJobCommands(program, {
  globals, positiveInt, collect, printJson,
  exit: async (code) => { process.exitCode = await code; },
});

registerPruneCommand(program, { globals, printJson, exit: async (code) => { process.exitCode = await code; } });

registerConfigCommands(program, { globals, printJson, exit: async (code) => { process.exitCode = await code; } });

program.command('demo')
  .description('replicate sample data between two temporary dir endpoints: a full run, changes, an incremental run')
  .option('--json', 'print one JSON object with both reports as the last line')
  .option('--keep', 'keep the temporary sender and receiver')
  .action(async (o: { json?: boolean; keep?: boolean }) => withApp({ workers: true }, async (app) => {
    const { demo } = await import('./commands/demo.js');
    const r = await demo(app, { json: !!o.json, keep: !!o.keep });
    if (o.json) printJson(r);
    return r.full.state === 'Completed' && r.incremental.state === 'Completed' ? EXIT.ok : EXIT.failed;
  }));

addSendFlags(program.command('replicate')
  .description('replicate every filesystem of <sender> to <receiver> in one run; exit 0 only if it ends Completed')
  .argument('<sender>', 'endpoint (forms below)')
  .argument('<receiver>', 'endpoint of the same kind; sender/a is replicated to receiver/a')
  .addOption(new Option('--initial <policy>', 'what to send to an empty receiver filesystem').choices(['most_recent', 'all', 'fail']).default('most_recent'))
  .option('--concurrency <n>', 'filesystems replicating at once', positiveInt, DEFAULT_REPLICATION_CONCURRENCY)
  .option('--filesystems <glob>', 'only filesystems matching this glob (* and ?)')
  .option('--include-snapshots <regex>', 'only replicate snapshots whose name matches')
  .option('--exclude-snapshots <regex>', 'do not replicate snapshots whose name matches')
  .option('--batch', 'send all intermediate snapshots in one stream where the driver can (zfs send -I, local btrfs send -c)')
  .option('--retry-initial-ms <ms>', 'first retry delay after a temporary error', positiveInt, 5000)
  .option('--retry-max-ms <ms>', 'longest retry delay', positiveInt, 300000)
  .option('--max-attempts <n>', 'attempts of a step before it is a permanent error', positiveInt, 10)
  .option('--snapshot', 'first take a snapshot of every sender filesystem (named ferry_<UTC time>), then replicate it: one command, as btrbk run and syncoid do')
  .option('--snapshot-name <name>', 'the name of that snapshot (implies --snapshot)')
  .option('--json', 'print the report as one JSON object on the last line')
  .option('--dry-run', 'print the plan (steps per filesystem, with sizes where the driver can tell) and send nothing'))
  .action(async (sender: string, receiver: string, o: SendFlagValues & { initial: InitialReplicationPolicy; concurrency: number; filesystems?: string; includeSnapshots?: string; excludeSnapshots?: string; batch?: boolean; retryInitialMs: number; retryMaxMs: number; maxAttempts: number; snapshot?: boolean; snapshotName?: string; json?: boolean; dryRun?: boolean }) => {
    const snapshotFirst = !!o.snapshot || o.snapshotName !== undefined;
    if (snapshotFirst && o.dryRun) throw new InvalidArgumentError('--dry-run changes nothing and --snapshot takes snapshots: plan without --snapshot, or run without --dry-run', { code: 'INVALID_ARGUMENT' });
    const send = sendOptionsOfFlags(o);
    const options = {
      sender, receiver, initial: o.initial, concurrency: o.concurrency, filesystems: o.filesystems,
      includeSnapshots: o.includeSnapshots, excludeSnapshots: o.excludeSnapshots, batch: !!o.batch,
      ...(send ? { send } : {}),
      retry: { initialMs: o.retryInitialMs, maxMs: o.retryMaxMs, maxAttempts: o.maxAttempts },
    };
    if (o.dryRun) return (await import('./commands/dry-run.js')).printReplicationDryRun(options, !!o.json, printJson);
    // the snapshot is taken while the app connects; the run starts once it is there
    const taking = snapshotFirst
      ? import('../storage/snapshots.js').then(({ snapshot }) => snapshot(sender, { name: o.snapshotName, prefix: 'ferry', filesystems: o.filesystems }))
      : null;
    taking?.catch(() => undefined); // awaited in the app; an app that cannot open reports its own error
    const { effectConcurrencyFor } = await import('../replication/runs.js');
    return withApp({ workers: true, effectConcurrency: effectConcurrencyFor(o.concurrency) }, async (app) => {
      if (taking) {
        const taken = await taking;
        if (!o.json) process.stdout.write(`snapshot ${taken[0].name} of ${taken.length} filesystem${taken.length === 1 ? '' : 's'} of ${sender}\n`);
      }
      const [{ batchHint, replicateAndWait }, { formatReport }] = await Promise.all([import('./commands/replicate.js'), import('./format.js')]);
      const report = await replicateAndWait(app, options, { progress: !o.json });
      if (o.json) printJson(report);
      else process.stdout.write(`${formatReport(report)}\n`);
      const hint = o.json ? null : batchHint(report, options);
      if (hint) process.stderr.write(hint);
      return report.state === 'Completed' ? EXIT.ok : EXIT.failed;
    });
  });

program.command('snapshot')
  .description('take a snapshot of every filesystem of an endpoint, named prefix plus UTC time unless --name is given')
  .argument('<endpoint>')
  .option('--name <name>', 'snapshot name')
  .option('--prefix <prefix>', 'name prefix', 'ferry')
  .option('--filesystems <glob>', 'only filesystems matching this glob')
  .option('--json', 'print JSON')
  .action(async (endpoint: string, o: { name?: string; prefix: string; filesystems?: string; json?: boolean }) => {
    const { snapshot } = await import('../storage/snapshots.js');
    const taken = await snapshot(endpoint, o);
    if (o.json) printJson(taken);
    else for (const t of taken) process.stdout.write(`${t.filesystem}@${t.name} guid ${t.guid} createtxg ${t.createtxg}\n`);
  });

program.command('destroy')
  .description('destroy one snapshot of an endpoint (never the filesystem, never other snapshots); refused when the driver must keep it')
  .argument('<endpoint>')
  .argument('<snapshot>', '<filesystem>@<snapshot>')
  .option('--json', 'print JSON')
  .action(async (endpoint: string, spec: string, o: { json?: boolean }) => {
    const { destroySnapshot } = await import('../storage/snapshots.js');
    const d = await destroySnapshot(endpoint, spec);
    if (o.json) printJson(d);
    else process.stdout.write(`destroyed ${d.filesystem}@${d.name}${d.guid === undefined ? '' : ` guid ${d.guid} createtxg ${d.createtxg}`} on ${d.endpoint}\n`);
  });

program.command('list')
  .description('list the filesystems of an endpoint with their versions (name, guid, creation counter)')
  .argument('<endpoint>')
  .option('--json', 'print JSON')
  .action(async (endpoint: string, o: { json?: boolean }) => {
    const [{ list }, { formatTable }] = await Promise.all([import('../storage/snapshots.js'), import('./format.js')]);
    const fss = await list(endpoint);
    if (o.json) return printJson(fss);
    const rows = [['FILESYSTEM', 'VERSION', 'GUID', 'CREATETXG']];
    for (const f of fss) {
      if (!f.versions.length) rows.push([f.filesystem, '-', '-', '-']);
      for (const v of f.versions) rows.push([f.filesystem, v.name, v.guid, String(v.createtxg)]);
    }
    process.stdout.write(`${formatTable(rows)}\n`);
  });

registerStatusCommand(program, { globals, positiveInt, printJson });

addServerOptions(program.command('watch')
  .description('print transition events as they are committed, one per line (Ctrl-C to stop)')
  .option('--from <id>', 'resume after this transition id ("0" = from the oldest kept)')
  .option('--kind <kind>', `only machines of this kind (${MACHINE_KINDS.join(', ')}); repeatable`, (v: string, prev: string[]) => collect(machineKind(v), prev), [] as string[])
  .option('--machine <id>', 'only this machine and its children; repeatable', collect, [] as string[])
  .option('--json', 'one JSON object per line'))
  .action(async (o: ServerOptions & { from?: string; kind: string[]; machine: string[]; json?: boolean }) => {
    // until a signal, or until stdout's reader goes away (`ferry watch | head`)
    process.exitCode = await withOrchestrator(globals(), o, async (api) => {
      await api.watchTransitions({ kinds: o.kind, machineIds: o.machine, afterId: o.from }, (e) => {
        if (stopRequested.aborted) return;
        if (o.json) printJson(e);
        else process.stdout.write(`${e.id} ${isoTime(e.at)} ${e.kind} ${e.machineId} ${e.from ?? '(start)'} -> ${e.to} on ${e.event}\n`);
      }, stopRequested);
      return EXIT.ok;
    });
  });

addServerOptions(program.command('archive')
  .description('archive every committed WAL entry of a log source to a sink, in LSN order per partition; `ferry archive status` shows partitions; `ferry archive reset STORAGE/PARTITION` resumes a Failed one (--consumer, --sink, --log pick it when several archive it; --server works too)')
  .argument('[status|reset]', 'show the partitions, or reset a Failed one, instead of archiving')
  .argument('[partition]', 'with reset: STORAGE/PARTITION'))
  .option('--log <source>', 'log source: a root directory (docs/wal-log-source.md), or grpc://HOST:PORT of a `ferry agent --log-root` (token: FERRY_TOKEN_FILE)')
  .option('--sink <url>', 'file:///abs/path or s3://bucket/prefix?endpoint=URL')
  .option('--consumer <name>', 'the position this archiver moves in the log source ([A-Za-z0-9_-], up to 200); default: derived from the sink, so each sink has its own')
  .option('--workers <n>', 'entries archived at once (across partitions; one per partition)', positiveInt, 4)
  .option('--once', 'stop when everything committed is archived')
  .option('--interval <seconds>', 'rescan the log source this often', positiveInt, ARCHIVE_DEFAULTS.intervalMs / 1000)
  .option('--retry-initial-ms <ms>', 'first backoff after a failure', positiveInt, ARCHIVE_DEFAULTS.retry.initialMs)
  .option('--retry-max-ms <ms>', 'longest backoff', positiveInt, ARCHIVE_DEFAULTS.retry.maxMs)
  .option('--json', 'print JSON')
  .action(async (what: string | undefined, partition: string | undefined, o: ServerOptions & { log?: string; sink?: string; consumer?: string; workers: number; once?: boolean; interval: number; retryInitialMs: number; retryMaxMs: number; json?: boolean }) => {
    if (what === 'reset') return void (process.exitCode = await (await import('./commands/archive-reset.js')).archiveReset(globals(), partition, o, (line) => process.stdout.write(`${line}\n`)));
    if (what !== undefined && what !== 'status') throw new InvalidArgumentError(`unknown archive subcommand ${JSON.stringify(what)}: use \`ferry archive status\`, \`ferry archive reset STORAGE/PARTITION\` or \`ferry archive --log DIR --sink URL\``, { code: 'INVALID_ARGUMENT' });
    if (what === 'status') {
      return void (process.exitCode = await withOrchestrator(globals(), o, async (api) => {
        const all = await api.listPartitions();
        if (o.json) printJson({ partitions: all });
        else process.stdout.write(`${(await import('./commands/archive.js')).formatPartitions(all)}\n`);
        return EXIT.ok;
      }));
    }
    if (!o.log) throw new InvalidArgumentError('--log <source> is required: the log source to archive (a directory or grpc://HOST:PORT)', { code: 'INVALID_ARGUMENT' });
    if (!o.sink) throw new InvalidArgumentError('--sink <url> is required: file:///abs/path or s3://bucket/prefix?endpoint=URL', { code: 'INVALID_ARGUMENT' });
    const { log, sink, consumer } = o;
    const [{ archive }, { openLogSource }, { archiveTargetIdentity }] = await Promise.all([
      import('./commands/archive.js'), import('../archiver/open-log-source.js'), import('../archiver/archive-target.js'),
    ]);
    // all three are checked before Redis is started or reached
    archiveTargetIdentity(openLogSource(log).root, sink, consumer);
    return withApp({ workers: true, effectConcurrency: o.workers, graceful: true }, async (app) => {
      const sum = await archive(app, { log, sink, consumer, once: !!o.once, intervalSec: o.interval, progress: !o.json, retry: { initialMs: o.retryInitialMs, maxMs: o.retryMaxMs } }, app.interrupted);
      if (o.json) printJson(sum);
      else {
        process.stdout.write(`archived ${sum.archived} entries (${sum.present} already in the sink) from ${sum.partitions} partitions; ${sum.gaps} gaps; ${sum.failed.length} failed\n`);
        for (const f of sum.failed) process.stdout.write(`  ${f.storage}/${f.partition}: ${f.problem}\n`);
      }
      return sum.failed.length ? EXIT.failed : EXIT.ok;
    });
  });

program.command('restore')
  .description('extract archived entries of one partition in LSN order into a directory; at a gap it stops and exits 1, naming the next archived LSN to go on from with --from')
  .requiredOption('--sink <url>', 'file:///abs/path or s3://bucket/prefix?endpoint=URL')
  .requiredOption('--storage <name>', 'storage name')
  .requiredOption('--partition <id>', 'partition id')
  .option('--from <lsn>', 'first LSN (default: the lowest archived)', positiveInt)
  .option('--to-lsn <lsn>', 'last LSN (default: the highest archived)', positiveInt)
  .requiredOption('--into <dir>', 'directory to write the entries into')
  .option('--json', 'print JSON')
  .action(async (o: RestoreFlags) => {
    const { restoreCommand } = await import('./commands/restore.js');
    process.exitCode = await restoreCommand(o, (line) => process.stdout.write(`${line}\n`), (line) => process.stderr.write(`${line}\n`));
  });

addWorkerOptions(program.command('worker')
  .description('work on the queues (drain, effects, timers) until stopped; run several for more throughput'))
  .action(async (o: WorkerFlags) => {
    const { openApp } = await import('./app.js');
    const app = await openApp(globals(), { workers: true, graceful: true, outlivesOutages: true, ...workerOptions(o) });
    process.stderr.write(`ferry: worker running (pid ${process.pid}); Ctrl-C to stop\n`);
    await untilStopRequested();
    process.stderr.write('ferry: worker stopping: waiting for running jobs to finish\n');
    await app.close();
    process.exitCode = EXIT.ok;
  });

addTlsOptions(program.command('agent')
  .description('serve local endpoints and a WAL log source over gRPC to ferry processes elsewhere, as grpc://HOST:PORT/<endpoint> and grpc://HOST:PORT (grpcs:// with --tls-cert; see docs/agent.md); needs no Redis')
  .requiredOption('--listen <addr>', '[host:]port to listen on (host 127.0.0.1 unless given; port 0 picks a free one)')
  .option('--allow <endpoint>', 'a local endpoint to serve, e.g. dir:/srv/a (repeat for more); nothing else is reachable', collect, [] as string[])
  .option('--endpoint <endpoint>', 'the same as --allow (its older name)', collect, [] as string[])
  .option('--log-root <path>', 'a log source root to serve to `ferry archive --log grpc://HOST:PORT` (docs/wal-log-source.md)')
  .requiredOption('--token-file <file>', 'file holding the shared token every call must carry as "authorization: Bearer <token>"')
  .option('--metrics <addr>', "[host:]port of /metrics (the process's Node.js metrics, for Prometheus's `up`) and /healthz (host 127.0.0.1 unless given); none unless given"))
  .action(async (o: { listen: string; allow: string[]; endpoint: string[]; logRoot?: string; tokenFile: string; metrics?: string } & TlsFlags) => {
    const [{ parseListenAddress, startMetricsServer }, { processMetricsRegistry }, { readTokenFile }, { createLogger }, { startAgent }] = await Promise.all([
      import('../observability/metrics-server.js'), import('../observability/process-metrics.js'), import('../grpc/auth.js'), import('../util/logger.js'), import('../api/agent-server.js'),
    ]);
    const at = parseListenAddress(o.listen, '--listen', { allowPortZero: true });
    const metricsAt = o.metrics === undefined ? null : parseListenAddress(o.metrics, '--metrics', { allowPortZero: true });
    const token = readTokenFile(o.tokenFile, '--token-file');
    const { credentials, scheme } = await serverTls(o);
    const log = createLogger({ level: globals().logLevel, name: 'ferry-agent' });
    const agent = await startAgent({ endpoints: [...o.allow, ...o.endpoint], logRoot: o.logRoot, token, host: at.host, port: at.port, log, credentials });
    const serving = [...agent.endpoints, ...(agent.logRoot ? [`log root ${agent.logRoot}`] : [])];
    process.stdout.write(`agent on ${scheme}://${agent.address} serving ${serving.join(', ')}\n`);
    const metricsServer = metricsAt ? await startMetricsServer({ address: metricsAt, registry: processMetricsRegistry(), log }).catch(async (err) => { await agent.close(0); throw err; }) : null;
    if (metricsServer) process.stdout.write(`metrics on ${metricsServer.url}/metrics\n`);
    process.stderr.write(`ferry: agent running (pid ${process.pid}); Ctrl-C to stop\n`);
    await untilStopRequested();
    const graceMs = (program.opts() as { shutdownTimeoutMs: number }).shutdownTimeoutMs;
    process.stderr.write(`ferry: agent stopping: letting running calls finish (${graceMs / 1000} s at most)\n`);
    // a second short of the bound, so the bound is left for what follows
    await agent.close(Math.max(0, graceMs - 1000));
    await metricsServer?.close();
    process.exitCode = EXIT.ok;
  });

addTlsOptions(addWorkerOptions(program.command('serve')
  .description('the orchestrator: the gRPC API (with --grpc), workers like `ferry worker`, Prometheus metrics and (with --inspect) the Stately inspector')
  .option('--grpc <addr>', 'serve the Orchestrator gRPC API on [host:]port (host 127.0.0.1 unless given); needs --token-file')
  .option('--token-file <file>', 'file holding the shared token every gRPC call (and the live view) must carry as "authorization: Bearer <token>"')
  .option('--ui <addr>', 'serve the live view (a web app: jobs, runs, machines as live statecharts, queues; docs/ui.md) on [host:]port (host 127.0.0.1 unless given); needs --token-file')
  .option('--metrics <addr>', '[host:]port of /metrics and /healthz (host 127.0.0.1 unless given)', '127.0.0.1:9464')
  .option('--no-metrics', 'serve no metrics endpoint')
  .option('--inspect <port>', 'serve the Stately inspector on [host:]port (host 127.0.0.1 unless given) and feed it every process\'s transitions (from the transition log)'))
  .option('--health-interval-ms <ms>', 'how often each healthy agent (grpc:// target) is health-checked; unhealthy ones follow their backoff', positiveInt, 10000)
  .option('--config <file>', 'apply this config file (docs/config.md) on start and on every SIGHUP, and run its archives'))
  .action(async (o: { grpc?: string; ui?: string; tokenFile?: string; metrics: string | false; inspect?: string; healthIntervalMs: number; config?: string } & WorkerFlags & TlsFlags) => {
    const [{ loadConfig, serveConfig }, { parseListenAddress }, { readTokenFile }, { openApp, startAppWorkers }, { serveMetrics, startServe }, { startOrchestratorServer }] = await Promise.all([
      import('./commands/config.js'), import('../observability/metrics-server.js'), import('../grpc/auth.js'), import('./app.js'),
      import('../service/serve.js'), import('../api/orchestrator-server.js'),
    ]);
    // checked before Redis is reached: a bad file starts nothing
    const desired = o.config === undefined ? null : await loadConfig(o.config);
    const grpcAt = o.grpc === undefined ? null : parseListenAddress(o.grpc, '--grpc', { allowPortZero: true });
    if (grpcAt && !o.tokenFile) throw new InvalidArgumentError('--grpc needs --token-file: every call must carry the shared token', { code: 'INVALID_ARGUMENT' });
    const uiAt = o.ui === undefined ? null : parseListenAddress(o.ui, '--ui', { allowPortZero: true });
    if (uiAt && !o.tokenFile) throw new InvalidArgumentError('--ui needs --token-file: the live view asks for the same token as the gRPC API', { code: 'INVALID_ARGUMENT' });
    const token = grpcAt || uiAt ? readTokenFile(o.tokenFile!, '--token-file') : '';
    const { credentials, scheme } = await serverTls(o);
    const uiTls = uiAt ? uiTlsFiles(o) : null; // the certificate files again, as https wants them: only for --ui
    const metricsAt = o.metrics === false ? null : parseListenAddress(o.metrics, '--metrics', { allowPortZero: true });
    const inspectAt = o.inspect === undefined ? null : parseListenAddress(o.inspect, '--inspect');
    const app = await openApp(globals(desired?.redis), { workers: false, graceful: true, outlivesOutages: true, metrics: serveMetrics() });
    let served: ServeHandle | null = null;
    let configured: { stop(): Promise<void> } | null = null;
    try {
      served = await startServe(app, {
        // the API is started here, not in src/service: src/api sits above it
        api: grpcAt ? { scheme, start: () => startOrchestratorServer({ orchestrator: app.orchestrator, token, host: grpcAt.host, port: grpcAt.port, credentials, log: app.log, serving: () => app.redisStatus.up }) } : undefined,
        // the live view, like the API, lives above src/service
        // loaded only with --ui: express, bull-board and elkjs would slow every command's start
        ui: uiAt ? { start: async () => (await import('../ui/server.js')).startUiServer({ address: uiAt, token, tls: uiTls, orchestrator: app.orchestrator, engine: app.engine, redis: app.redis, log: app.log }) } : undefined,
        metricsAt, inspectAt, healthIntervalMs: o.healthIntervalMs,
        startWorkers: () => startAppWorkers(app, workerOptions(o)),
      });
      for (const line of served.lines) process.stdout.write(`${line}\n`);
      if (desired) configured = await serveConfig(app, o.config!, desired, (line) => process.stdout.write(`${line}\n`));
      process.stderr.write(`ferry: serving (pid ${process.pid}); Ctrl-C to stop\n`);
      await untilStopRequested();
      process.stderr.write('ferry: stopping: waiting for running jobs to finish\n');
    } finally {
      await configured?.stop();
      // a failed start has closed what it started (the app too)
      await served?.close();
      // a library may keep a handle open (the inspector client retries a lost connection every 5 s)
      setTimeout(() => process.exit(), 2000).unref();
    }
    process.exitCode = EXIT.ok;
  });

registerHealthCommand(program, { positiveInt });
registerCompletionCommand(program);
addEndpointHelp(program);

// a function, not top-level await: the bundled CLI is CommonJS (scripts/bundle-cli.mjs)
async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
    if (stoppedByClosedStdout()) process.exitCode = EXIT.ok;
  } catch (err) {
    // whatever failed after stdout's reader went away is of no interest to anyone
    if (stoppedByClosedStdout()) process.exit(EXIT.ok);
    if (err instanceof CommanderError) {
      // commander printed its message (or the help, or the version) already, unless an action threw it
      if (err instanceof CommanderArgError) process.stderr.write(`ferry: ${err.message}\n`);
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    } else if (err instanceof FerryError) {
      process.stderr.write(`ferry: ${err.message}\n`);
      process.exitCode = err instanceof InvalidArgumentError || err.code === 'REDIS_MISSING' ? EXIT.usage : EXIT.error;
    } else {
      process.stderr.write(`ferry: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = EXIT.error;
    }
  }
}

void main();
