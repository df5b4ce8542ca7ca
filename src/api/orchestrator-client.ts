import * as grpc from '@grpc/grpc-js';
import type { JobSpec } from '../jobs/spec.js';
import type { Orchestrator, PruneReportView, PartitionReset, PartitionSelector, PartitionStatus, RunView, TargetView, TransitionEvent, WatchFilter, JobView } from '../service/views.js';
import type { OrchestratorClient } from '../grpc/generated/ferry/v1/Orchestrator.js';
import type { Transition__Output } from '../grpc/generated/ferry/v1/Transition.js';
import { jobFromMsg, jobSpecToMsg, partitionFromMsg, pruneReportFromMsg, runFromMsg, targetFromMsg, transitionFromMsg } from './orchestrator-messages.js';
import type { PruneReport__Output } from '../grpc/generated/ferry/v1/PruneReport.js';
import { newOrchestratorClient } from '../grpc/proto.js';
import { KEEPALIVE_OPTIONS } from '../grpc/progress.js';
import { tokenMetadata } from '../grpc/remote-call.js';
import { fromStatus } from '../grpc/status.js';
import { validateJobSpec } from '../jobs/spec.js';

export interface RemoteOrchestratorOptions {
  /** host:port of `ferry serve --grpc` */
  address: string;
  token: string;
  credentials?: grpc.ChannelCredentials;
  /** the channel is TLS (for the hints of a failed handshake) */
  tls?: boolean;
  /** per unary call; default 30 s */
  deadlineMs?: number;
}

type Callback<Res> = (err: grpc.ServiceError | null, res?: Res) => void;
type UnaryMethod<Req, Res> = (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<Res>) => unknown;

/** A selector as GetPartitionRequest and ResetPartitionRequest carry it ("" for what is not given). */
function selectorMsg(sel: PartitionSelector) {
  return { storage: sel.storage, partition: sel.partition, consumer: sel.consumer ?? '', sink: sel.sink ?? '', log: sel.log ?? '' };
}

/** The Orchestrator over gRPC: what the CLI uses with --server. Errors come back typed (fromStatus). */
export class RemoteOrchestrator implements Orchestrator {
  private readonly client: OrchestratorClient;
  constructor(private readonly o: RemoteOrchestratorOptions) {
    this.client = newOrchestratorClient(o.address, o.credentials, KEEPALIVE_OPTIONS);
  }

  private metadata(): grpc.Metadata {
    return tokenMetadata(this.o.token);
  }

  private call<Req, Res>(method: keyof OrchestratorClient, req: Req, where: string): Promise<Res> {
    const fn = this.client[method] as unknown as UnaryMethod<Req, Res>;
    return new Promise<Res>((resolve, reject) => {
      fn.call(this.client, req, this.metadata(), { deadline: Date.now() + (this.o.deadlineMs ?? 30_000) }, (err, res) => (err ? reject(fromStatus(err, `${where} (server ${this.o.address})`, { tls: this.o.tls })) : resolve(res!)));
    });
  }

  async createJob(spec: Partial<JobSpec>, opts: { replace?: boolean } = {}): Promise<JobView> {
    // checked here too, so a typo is named before anything crosses the network
    const valid = validateJobSpec(spec);
    return jobFromMsg(await this.call('createJob', { spec: jobSpecToMsg(valid), replace: !!opts.replace }, 'creating job'));
  }

  async getJob(name: string) {
    return jobFromMsg(await this.call('getJob', { name }, `getting job ${name}`));
  }

  async listJobs() {
    const res = await this.call<object, { jobs?: Parameters<typeof jobFromMsg>[0][] }>('listJobs', {}, 'listing jobs');
    return (res.jobs ?? []).map(jobFromMsg);
  }

  async deleteJob(name: string) {
    await this.call('deleteJob', { name }, `deleting job ${name}`);
  }

  async runJob(name: string) {
    const res = await this.call<object, { runId?: string; started?: boolean }>('runJob', { name }, `running job ${name}`);
    return { runId: res.runId ?? '', started: !!res.started };
  }

  async pruneJob(name: string, opts: { dryRun?: boolean } = {}) {
    const res = await this.call<object, { runId?: string }>('pruneJob', { name, dryRun: !!opts.dryRun }, `pruning job ${name}`);
    return { runId: res.runId ?? '' };
  }

  async getPruneReport(runId: string): Promise<PruneReportView> {
    return pruneReportFromMsg(await this.call<object, PruneReport__Output>('getPruneReport', { runId }, `reading the pruning report of ${runId}`));
  }

  async signalJob(name: string, signal: string) {
    const res = await this.call<object, { outcome?: string; machines?: string[] }>('signalJob', { name, signal }, `signalling job ${name}`);
    return { outcome: res.outcome ?? '', machines: res.machines ?? [] };
  }

  async getRun(id: string): Promise<RunView> {
    return runFromMsg(await this.call('getRun', { id }, `getting run ${id}`));
  }

  async listRuns(opts: { job?: string; limit?: number } = {}): Promise<RunView[]> {
    const res = await this.call<object, { runs?: Parameters<typeof runFromMsg>[0][] }>('listRuns', { job: opts.job ?? '', limit: opts.limit ?? 0 }, 'listing runs');
    return (res.runs ?? []).map(runFromMsg);
  }

  async listTargets(): Promise<TargetView[]> {
    const res = await this.call<object, { targets?: Parameters<typeof targetFromMsg>[0][] }>('listTargets', {}, 'listing targets');
    return (res.targets ?? []).map(targetFromMsg);
  }

  async notifyLogEntries(log: string, sink: string, consumer?: string): Promise<number> {
    const res = await this.call<object, { partitions?: number }>('notifyLogEntries', { log, sink, consumer: consumer ?? '' }, 'notifying log entries');
    return res.partitions ?? 0;
  }

  async getPartition(sel: PartitionSelector): Promise<PartitionStatus> {
    return partitionFromMsg(await this.call('getPartition', selectorMsg(sel), `getting partition ${sel.storage}/${sel.partition}`));
  }

  async resetPartition(sel: PartitionSelector): Promise<PartitionReset> {
    const res = await this.call<object, { id?: string; problem?: string }>('resetPartition', selectorMsg(sel), `resetting partition ${sel.storage}/${sel.partition}`);
    return { id: res.id ?? '', problem: res.problem ?? '' };
  }

  async listPartitions(): Promise<PartitionStatus[]> {
    const res = await this.call<object, { partitions?: Parameters<typeof partitionFromMsg>[0][] }>('listPartitions', {}, 'listing partitions');
    return (res.partitions ?? []).map(partitionFromMsg);
  }

  /** Follows the server's stream until the signal aborts; rejects (typed) if the stream fails. */
  watchTransitions(filter: WatchFilter, onEvent: (e: TransitionEvent) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    const call = this.client.watchTransitions({ kinds: filter.kinds ?? [], machineIds: filter.machineIds ?? [], afterId: filter.afterId ?? '' }, this.metadata());
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      const finish = (err?: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (err && !signal.aborted) reject(fromStatus(err, `watching transitions (server ${this.o.address})`, { tls: this.o.tls }));
        else resolve();
      };
      // one event at a time: pausing the call pushes back on the server through gRPC flow control
      let chain = Promise.resolve();
      call.on('data', (m: Transition__Output) => {
        call.pause();
        chain = chain.then(() => onEvent(transitionFromMsg(m))).then(() => { call.resume(); }, (err) => { call.cancel(); finish(err); });
      });
      call.on('error', (err) => finish(err));
      call.on('end', () => chain.then(() => finish()));
    });
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
