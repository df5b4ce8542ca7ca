import { ARCHIVE_DEFAULTS } from './defaults.js';
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { logNameProblem } from '../archiver/log-source/names.js';
import { isRemoteLogSource, openLogSource } from '../archiver/open-log-source.js';
import { openSink } from '../archiver/sinks/index.js';
import { parseS3SinkUrl } from '../archiver/sinks/s3-sink.js';
import { checkJobSpec, type JobSchedule, type JobSpec, type JobSpecInput } from '../jobs/spec.js';
import { agentAddress, parseEndpoint, type EndpointKind } from '../storage/endpoint.js';
import { parseDuration } from '../util/duration.js';
import { parseConfig, type ParsedConfig } from './parse.js';
import { checkRedisSection, type ConfigRedis } from './redis-section.js';
import { didYouMean, type ConfigPath, type ConfigProblem } from './problems.js';
import type { AgentConfig, ArchiveConfig, EndpointRef, JobConfig, ScheduleConfig, SendConfig } from './schema.js';
import type { SendOptionsInput } from '../replication/send-options.js';

/** An archive of the file, resolved: what `ferry archive` would be given. */
export interface DesiredArchive {
  name: string;
  /** the normalized log source root: an absolute path or grpc://HOST:PORT */
  log: string;
  sink: string;
  /** absent: derived from the sink (archiveTargetIdentity), as `ferry archive` does */
  consumer?: string;
  intervalMs: number;
  retry: { initialMs: number; maxMs: number };
}

/** What Redis should hold once the file is applied. */
export interface DesiredState {
  jobs: JobSpec[];
  /** the file's sections as written: apply keeps them for `config export` and `serve --config` */
  agents: Record<string, AgentConfig>;
  archives: Record<string, ArchiveConfig>;
  resolvedArchives: DesiredArchive[];
  /** the `redis:` section: how `serve --config` and `apply` reach Redis (below the environment and the flags) */
  redis: ConfigRedis | null;
}

export interface CheckResult {
  problems: ConfigProblem[];
  /** null when there is any problem */
  desired: DesiredState | null;
}


const errorText = (err: unknown): string => (err as Error).message;

/** A spec field (as checkJobSpec names it: receivers[1], schedule.every_ms) as a path in the job's section; `fileIndex`: of each receiver checked. */
function jobFieldPath(field: string, fileIndex: number[]): ConfigPath {
  const m = /^receivers\[(\d+)\]$/.exec(field);
  if (m) return ['receivers', fileIndex[Number(m[1])] ?? 0];
  const special: Record<string, ConfigPath> = { 'schedule.every_ms': ['schedule', 'every'], name: [], spec: [] };
  // `retention.sender[1].grid` -> retention, sender, 1, grid
  return special[field] ?? field.split('.').flatMap((part) => {
    const indexed = /^(.+)\[(\d+)\]$/.exec(part);
    return indexed ? [indexed[1], Number(indexed[2])] : [part];
  });
}

/**
 * Checks a config file without touching data or Redis: syntax, schema (unknown keys with a
 * did-you-mean), then each agent, job and archive with the validators the CLI and the gRPC API use
 * (endpoints, cron, regexes, sinks). Every problem has its line and path.
 */
export function checkConfigText(text: string): CheckResult {
  const parsed = parseConfig(text);
  const { problems, data } = parsed;
  if (!data) return { problems, desired: null };
  const agents = data.agents ?? {};
  const jobs: JobSpec[] = [];
  const archives: DesiredArchive[] = [];
  // an entry that is not a map was reported by the schema, and has nothing more to check
  const entries = <T>(section: Record<string, T> | null | undefined) => Object.entries(section ?? {}).filter(([, v]) => isRecord(v));
  const redis = isRecord(data.redis) ? checkRedisSection(parsed, data.redis) : null;
  for (const [name, agent] of entries(agents)) checkAgent(parsed, name, agent);
  for (const [name, job] of entries(data.jobs)) {
    const spec = checkJob(parsed, agents, name, job);
    if (spec) jobs.push(spec);
  }
  const byLogAndConsumer = new Map<string, string>();
  for (const [name, archive] of entries(data.archives)) {
    const a = checkArchive(parsed, agents, name, archive);
    if (!a) continue;
    // two archivers moving one consumer position would each let the log source prune what the other has not archived
    // (the default consumer is derived from the sink: one per sink)
    const key = `${a.log}\n${a.consumer ?? `sink ${a.sink}`}`;
    const other = byLogAndConsumer.get(key);
    if (other !== undefined) problems.push(parsed.problemAt(['archives', name], `archives ${other} and ${name} read ${a.log} as the same consumer${a.consumer ? ` "${a.consumer}"` : ' (into the same sink)'}: give each its own consumer`));
    else byLogAndConsumer.set(key, name);
    archives.push(a);
  }
  if (problems.length) return { problems: sortProblems(problems), desired: null };
  return { problems: [], desired: { jobs, agents, archives: data.archives ?? {}, resolvedArchives: archives, redis } };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function sortProblems(ps: ConfigProblem[]): ConfigProblem[] {
  return [...ps].sort((a, b) => a.line - b.line || a.col - b.col);
}

function checkAgent(p: ParsedConfig, name: string, agent: AgentConfig): void {
  const at = (...rest: ConfigPath): ConfigPath => ['agents', name, ...rest];
  if (!p.hasProblemIn(at('address')) && !agentAddress(agent.address)) {
    p.problems.push(p.problemAt(at('address'), `${JSON.stringify(agent.address)} is not host:port (the --listen of its \`ferry agent\`)`));
  }
  if (p.hasProblemIn(at('endpoints'))) return;
  (agent.endpoints ?? []).forEach((e, i) => {
    try {
      if (parseEndpoint(e).remote) p.problems.push(p.problemAt(at('endpoints', i), 'an agent serves local endpoints (dir:, zfs:, btrfs:), not grpc:// ones'));
    } catch (err) {
      p.problems.push(p.problemAt(at('endpoints', i), errorText(err)));
    }
  });
}

/** The endpoint as a job spec holds it: grpc[s]://ADDRESS/<endpoint> for an agent's; null after a problem. */
function resolveRef(p: ParsedConfig, agents: Record<string, AgentConfig>, ref: EndpointRef, path: ConfigPath): string | null {
  if (typeof ref === 'string') return ref;
  const agent = agents[ref.agent];
  if (!agent) {
    p.problems.push(p.problemAt([...path, 'agent'], `no agent named "${ref.agent}" in agents${didYouMean(ref.agent, Object.keys(agents))}`));
    return null;
  }
  if (p.hasProblemIn(['agents', ref.agent, 'address'])) return null;
  if (agent.endpoints?.length && !p.hasProblemIn(['agents', ref.agent, 'endpoints'])) {
    const norm = (e: string) => {
      try {
        const { kind, location } = parseEndpoint(e);
        return `${kind}:${location}`;
      } catch {
        return e;
      }
    };
    if (!agent.endpoints.map(norm).includes(norm(ref.endpoint))) {
      p.problems.push(p.problemAt([...path, 'endpoint'], `agent ${ref.agent} serves only ${agent.endpoints.join(', ')} (agents.${ref.agent}.endpoints)${didYouMean(ref.endpoint, agent.endpoints)}`));
      return null;
    }
  }
  return `${agent.tls ? 'grpcs' : 'grpc'}://${agent.address}/${ref.endpoint}`;
}

function duration(p: ParsedConfig, text: string | undefined, path: ConfigPath, minMs = 1): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text, '');
  if (ms < minMs) {
    p.problems.push(p.problemAt(path, `must be at least ${minMs}ms`));
    return undefined;
  }
  return ms;
}

/** Pure: the file's send section as a spec's send options (checkJobSpec checks them). */
function sendOptionsOf(c: SendConfig): SendOptionsInput {
  return {
    raw: c.raw, compressed: c.compressed, largeBlocks: c.large_blocks, properties: c.properties, allowDecryptedSend: c.allow_decrypted_send,
    receiveSet: c.receive_set, receiveExclude: c.receive_exclude, bandwidthLimit: c.bandwidth_limit,
  };
}

/** The job's spec input fields, each with where it is in the file (the schema's problems left out). */
const JOB_FIELDS = {
  filesystems: 'filesystems', includeSnapshots: 'include_snapshots', excludeSnapshots: 'exclude_snapshots', initial: 'initial',
  concurrency: 'concurrency', batch: 'batch', snapshotPrefix: 'snapshot_prefix', retention: 'retention',
} as const satisfies Partial<Record<keyof JobSpecInput, keyof JobConfig>>;

/**
 * Checks a job with checkJobSpec (the CLI's and CreateJob's checks), which reports every field's
 * problem. Fields the schema already found wrong are left out from the start.
 */
function checkJob(p: ParsedConfig, agents: Record<string, AgentConfig>, name: string, job: JobConfig): JobSpec | null {
  const at = (...rest: ConfigPath): ConfigPath => ['jobs', name, ...rest];
  const sound = (key: keyof JobConfig) => job[key] !== undefined && !p.hasProblemIn(at(key));
  const before = p.problems.length;
  const sender = sound('sender') ? resolveRef(p, agents, job.sender, at('sender')) : null;
  // the receivers checked, with their index in the file
  const receivers: Array<{ endpoint: string; index: number }> = [];
  if (Array.isArray(job.receivers)) {
    job.receivers.forEach((r, index) => {
      if (p.hasProblemIn(at('receivers', index))) return;
      const endpoint = resolveRef(p, agents, r, at('receivers', index));
      if (endpoint === null) return;
      const first = receivers.find((x) => x.endpoint === endpoint);
      if (first) p.problems.push(p.problemAt(at('receivers', index), `the same endpoint as receivers[${first.index}]`));
      else receivers.push({ endpoint, index });
    });
  }
  // a missing or wrong sender (or no usable receiver) is reported already; a stand-in of the same
  // storage kind lets the other fields be checked, and is never stored (the job is not returned)
  const kind = [sender, ...receivers.map((r) => r.endpoint)].map(kindOf).find((k) => k !== null) ?? 'dir';
  const standIns = { sender: sender === null, receivers: !receivers.length };
  const input: JobSpecInput = { name, sender: sender ?? standIn(kind, 'sender'), receivers: standIns.receivers ? [standIn(kind, 'receiver')] : receivers.map((r) => r.endpoint) };
  for (const [field, key] of Object.entries(JOB_FIELDS)) if (sound(key)) Object.assign(input, { [field]: job[key] });
  if (sound('schedule')) input.schedule = scheduleOf(p, job.schedule!, at('schedule'));
  if (sound('send')) input.send = sendOptionsOf(job.send!);
  if (sound('retry')) {
    const r = job.retry!;
    const retry = { initialMs: duration(p, r.initial, at('retry', 'initial')), maxMs: duration(p, r.max, at('retry', 'max')), maxAttempts: r.max_attempts };
    input.retry = Object.fromEntries(Object.entries(retry).filter(([, v]) => v !== undefined));
  }
  // every problem of the job at once, each with its field (checkJobSpec: the CLI's and CreateJob's checks)
  const checked = checkJobSpec(input);
  for (const { field, message } of checked.problems) {
    const onStandIn = (field === 'sender' && standIns.sender) || (field.startsWith('receivers') && standIns.receivers);
    if (onStandIn) continue;
    const path = at(...jobFieldPath(field, receivers.map((r) => r.index)));
    if (!p.hasProblemIn(path)) p.problems.push(p.problemAt(path, message.startsWith(`${field}: `) ? message.slice(field.length + 2) : message));
  }
  return p.problems.length > before || standIns.sender || standIns.receivers ? null : checked.spec;
}

function kindOf(endpoint: string | null): EndpointKind | null {
  try {
    return endpoint === null ? null : parseEndpoint(endpoint).kind;
  } catch {
    return null;
  }
}

/** An endpoint of `kind` that only stands in during a check. */
function standIn(kind: EndpointKind, role: string): string {
  return kind === 'zfs' ? `zfs:ferry-config-check/${role}` : `${kind}:/ferry-config-check/${role}`;
}

function scheduleOf(p: ParsedConfig, s: ScheduleConfig, path: ConfigPath): JobSchedule | undefined {
  const before = p.problems.length;
  if (s.every !== undefined && s.cron !== undefined) p.problems.push(p.problemAt(path, 'give every or cron, not both'));
  if (s.every === undefined && s.cron === undefined) p.problems.push(p.problemAt(path, 'give every (a duration) or cron (a pattern); leave schedule out for a job that runs only when asked'));
  if (s.every !== undefined && s.timezone !== undefined) p.problems.push(p.problemAt([...path, 'timezone'], 'applies to cron only'));
  if (p.problems.length > before) return undefined;
  return s.every !== undefined ? { everyMs: parseDuration(s.every, '') } : { cron: s.cron!, ...(s.timezone ? { timezone: s.timezone } : {}) };
}

function checkArchive(p: ParsedConfig, agents: Record<string, AgentConfig>, name: string, a: ArchiveConfig): DesiredArchive | null {
  const at = (...rest: ConfigPath): ConfigPath => ['archives', name, ...rest];
  const sound = (key: keyof ArchiveConfig) => a[key] !== undefined && !p.hasProblemIn(at(key));
  const before = p.problems.length;
  let log: string | null = null;
  if (!sound('log')) { /* missing or reported */ } else if (typeof a.log === 'object') {
    const agent = agents[a.log.agent];
    if (!agent) p.problems.push(p.problemAt(at('log', 'agent'), `no agent named "${a.log.agent}" in agents${didYouMean(a.log.agent, Object.keys(agents))}`));
    else if (agent.tls) p.problems.push(p.problemAt(at('log', 'agent'), `agent ${a.log.agent} has tls: true, and log sources are read over plain grpc:// only`));
    else if (!p.hasProblemIn(['agents', a.log.agent, 'address'])) log = `grpc://${agent.address}`;
  } else if (!isRemoteLogSource(a.log) && !isAbsolute(a.log)) {
    p.problems.push(p.problemAt(at('log'), `${JSON.stringify(a.log)}: give an absolute path of a log source root, or grpc://HOST:PORT of a \`ferry agent --log-root\``));
  } else log = a.log;
  let root: string | null = null;
  if (log !== null) {
    try {
      root = openLogSource(log).root;
    } catch (err) {
      p.problems.push(p.problemAt(at('log'), errorText(err)));
    }
  }
  if (sound('sink')) {
    try {
      checkSinkUrl(a.sink);
    } catch (err) {
      p.problems.push(p.problemAt(at('sink'), errorText(err)));
    }
  }
  const consumerProblem = sound('consumer') ? logNameProblem(a.consumer) : null;
  if (consumerProblem !== null) p.problems.push(p.problemAt(at('consumer'), `${JSON.stringify(a.consumer)} ${consumerProblem}`));
  const intervalMs = (sound('interval') ? duration(p, a.interval, at('interval'), 1000) : undefined) ?? ARCHIVE_DEFAULTS.intervalMs;
  const retry = sound('retry') ? a.retry! : {};
  const initialMs = duration(p, retry.initial, at('retry', 'initial')) ?? ARCHIVE_DEFAULTS.retry.initialMs;
  const maxMs = duration(p, retry.max, at('retry', 'max')) ?? ARCHIVE_DEFAULTS.retry.maxMs;
  if (p.problems.length > before || root === null) return null;
  return { name, log: root, sink: a.sink, ...(a.consumer ? { consumer: a.consumer } : {}), intervalMs, retry: { initialMs, maxMs } };
}

/** The sink URL's shape. S3 credentials come from the environment of the process that archives, not from the file. */
function checkSinkUrl(url: string): void {
  if (/^s3:/i.test(url)) parseS3SinkUrl(url, { AWS_ACCESS_KEY_ID: 'unchecked', AWS_SECRET_ACCESS_KEY: 'unchecked', ...process.env });
  else openSink(url);
}

/** Reads and checks a config file; a file that cannot be read is one problem without a line. */
export async function checkConfigFile(file: string): Promise<CheckResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { problems: [{ line: 0, col: 0, path: '', message: `cannot read: ${errorText(err)}` }], desired: null };
  }
  return checkConfigText(text);
}
