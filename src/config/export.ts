import { stringify } from 'yaml';
import type { JobSpec } from '../jobs/spec.js';
import type { StoredJob } from '../jobs/store.js';
import { parseEndpoint } from '../storage/endpoint.js';
import { formatDurationExact } from '../util/duration.js';
import type { AgentConfig, ConfigFile, EndpointRef, JobConfig, SendConfig } from './schema.js';
import type { JobSendOptions } from '../../machines/send-options.js';
import { formatByteRate } from '../util/bytes.js';
import type { AppliedConfig } from './store.js';

/** An agent's local endpoint when `endpoint` is grpc[s]:// to one of `agents`, else the endpoint as stored. */
function endpointRef(endpoint: string, agents: Record<string, AgentConfig>): EndpointRef {
  let remote;
  try {
    remote = parseEndpoint(endpoint).remote;
  } catch {
    return endpoint;
  }
  if (!remote) return endpoint;
  const agent = Object.entries(agents).find(([, a]) => a.address.toLowerCase() === remote.address && !!a.tls === remote.tls);
  return agent ? { agent: agent[0], endpoint: remote.endpoint } : endpoint;
}

/** Pure: a job's send options as the file writes them (the limit with a unit, as a person reads it). */
function sendConfigOf(o: JobSendOptions): SendConfig {
  return {
    ...(o.raw ? { raw: true } : {}),
    ...(o.compressed ? { compressed: true } : {}),
    ...(o.largeBlocks ? { large_blocks: true } : {}),
    ...(o.properties ? { properties: true } : {}),
    ...(o.allowDecryptedSend ? { allow_decrypted_send: true } : {}),
    ...(o.receiveSet?.length ? { receive_set: o.receiveSet } : {}),
    ...(o.receiveExclude?.length ? { receive_exclude: o.receiveExclude } : {}),
    ...(o.bandwidthLimit ? { bandwidth_limit: formatByteRate(o.bandwidthLimit) } : {}),
  };
}

/** Pure: a stored job spec as the file writes it (durations with units, agent endpoints by name). */
export function jobConfigOf(spec: JobSpec, agents: Record<string, AgentConfig>): JobConfig {
  const s = spec.schedule;
  return {
    sender: endpointRef(spec.sender, agents),
    receivers: spec.receivers.map((r) => endpointRef(r, agents)),
    ...(spec.filesystems ? { filesystems: spec.filesystems } : {}),
    ...(spec.includeSnapshots ? { include_snapshots: spec.includeSnapshots } : {}),
    ...(spec.excludeSnapshots ? { exclude_snapshots: spec.excludeSnapshots } : {}),
    initial: spec.initial,
    concurrency: spec.concurrency,
    batch: spec.batch,
    ...(spec.snapshotPrefix ? { snapshot_prefix: spec.snapshotPrefix } : {}),
    ...(s ? { schedule: 'everyMs' in s ? { every: formatDurationExact(s.everyMs) } : { cron: s.cron, ...(s.timezone ? { timezone: s.timezone } : {}) } } : {}),
    ...(spec.retention ? { retention: spec.retention } : {}),
    ...(spec.send ? { send: sendConfigOf(spec.send) } : {}),
    retry: {
      initial: formatDurationExact(spec.retry.initialMs),
      max: formatDurationExact(spec.retry.maxMs),
      ...(spec.retry.maxAttempts ? { max_attempts: spec.retry.maxAttempts } : {}),
    },
  };
}

/**
 * Pure: what Redis holds as a config file: every job (whoever made it: applying the export takes
 * over the hand-made ones), and the agents and archives of the last apply.
 */
export function exportConfig(jobs: StoredJob[], applied: AppliedConfig, header: string[] = []): string {
  const file: ConfigFile = {
    version: 1,
    agents: applied.agents,
    jobs: Object.fromEntries(jobs.map((j) => [j.spec.name, jobConfigOf(j.spec, applied.agents)])),
    archives: applied.archives,
  };
  return `${header.map((l) => `# ${l}\n`).join('')}${stringify(file, { lineWidth: 0 })}`;
}
