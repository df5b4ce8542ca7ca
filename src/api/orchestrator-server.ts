import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../util/logger.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { Orchestrator } from '../service/views.js';
import { addStandardServices, backpressuredWriter, bindServer, newServer, serverKit } from '../grpc/server-kit.js';
import type { OrchestratorHandlers } from '../grpc/generated/ferry/v1/Orchestrator.js';
import type { Transition } from '../grpc/generated/ferry/v1/Transition.js';
import type { WatchTransitionsRequest__Output } from '../grpc/generated/ferry/v1/WatchTransitionsRequest.js';
import { serviceDefinition } from '../grpc/proto.js';
import {
  jobSpecFromMsg, jobToMsg, partitionToMsg, pruneReportToMsg, runToMsg, targetToMsg, transitionToMsg,
} from './orchestrator-messages.js';
import { invalidField } from '../grpc/status.js';
import type { JobSpec__Output } from '../grpc/generated/ferry/v1/JobSpec.js';
import { integerField, jobNameField, logNameField, logRootField, partitionSelectorField, runIdField, signalField, textField, textList, watchFilterField } from './request-fields.js';

export interface OrchestratorServerOptions {
  orchestrator: Orchestrator;
  token: string;
  host: string;
  /** 0 picks a free port */
  port: number;
  credentials?: grpc.ServerCredentials;
  log?: Logger;
  /** false while the orchestrator cannot reach Redis: health answers NOT_SERVING. @defaultValue always true */
  serving?: () => boolean;
}

export interface OrchestratorServer {
  address: string;
  port: number;
  close(graceMs?: number): Promise<void>;
}

/**
 * The sizes of a job spec as received (its meaning is validateJobSpec's, whose field names these
 * are): strings bounded, at most MAX_RECEIVERS receivers as sent, every_ms a safe integer.
 */
function boundJobSpec(m: JobSpec__Output): void {
  for (const f of ['name', 'sender', 'filesystems', 'includeSnapshots', 'excludeSnapshots', 'initial', 'snapshotPrefix'] as const) {
    textField(m[f], f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), { optional: true });
  }
  textList(m.receivers, 'receivers', { max: MAX_RECEIVERS });
  if (m.schedule) {
    textField(m.schedule.cron, 'schedule.cron', { optional: true, max: 256 });
    textField(m.schedule.timezone, 'schedule.timezone', { optional: true, max: 64 });
    integerField(m.schedule.everyMs, 'schedule.every_ms');
  }
}

/** Receivers a CreateJob may send (validateJobSpec keeps at most 32 distinct ones). */
const MAX_RECEIVERS = 256;

/** ferry.v1.Orchestrator over an Orchestrator (the local one), plus grpc.health.v1.Health/Check. */
export async function startOrchestratorServer(o: OrchestratorServerOptions): Promise<OrchestratorServer> {
  if (!o.token) throw new InvalidArgumentError('--token-file is required with --grpc: every call must carry the shared token', { code: 'INVALID_ARGUMENT' });
  const api = o.orchestrator;
  const closing = new AbortController();
  const { unary, authorize, fail } = serverKit({ token: o.token, log: o.log, server: 'server' });

  const impl: OrchestratorHandlers = {
    CreateJob: unary('CreateJob', async (req) => {
      if (!req.spec) throw invalidField('spec', 'required');
      boundJobSpec(req.spec);
      return jobToMsg(await api.createJob(jobSpecFromMsg(req.spec) as never, { replace: !!req.replace }));
    }),
    GetJob: unary('GetJob', async (req) => jobToMsg(await api.getJob(jobNameField(req.name)))),
    ListJobs: unary('ListJobs', async () => ({ jobs: (await api.listJobs()).map(jobToMsg) })),
    DeleteJob: unary('DeleteJob', async (req) => {
      await api.deleteJob(jobNameField(req.name));
      return {};
    }),
    RunJob: unary('RunJob', async (req) => api.runJob(jobNameField(req.name))),
    SignalJob: unary('SignalJob', async (req) => api.signalJob(jobNameField(req.name), signalField(req.signal))),
    PruneJob: unary('PruneJob', async (req) => api.pruneJob(jobNameField(req.name), { dryRun: !!req.dryRun })),
    GetPruneReport: unary('GetPruneReport', async (req) => pruneReportToMsg(await api.getPruneReport(runIdField(req.runId, 'run_id')))),
    GetRun: unary('GetRun', async (req) => runToMsg(await api.getRun(runIdField(req.id)))),
    ListRuns: unary('ListRuns', async (req) => ({ runs: (await api.listRuns({ job: req.job ? jobNameField(req.job, 'job') : undefined, limit: req.limit || undefined })).map(runToMsg) })),
    ListTargets: unary('ListTargets', async () => ({ targets: (await api.listTargets()).map(targetToMsg) })),
    NotifyLogEntries: unary('NotifyLogEntries', async (req) => ({
      partitions: await api.notifyLogEntries(logRootField(req.log), textField(req.sink, 'sink'), req.consumer ? logNameField(req.consumer, 'consumer') : undefined),
    })),
    GetPartition: unary('GetPartition', async (req) => partitionToMsg(await api.getPartition(partitionSelectorField(req)))),
    ListPartitions: unary('ListPartitions', async () => ({ partitions: (await api.listPartitions()).map(partitionToMsg) })),
    ResetPartition: unary('ResetPartition', async (req) => api.resetPartition(partitionSelectorField(req))),

    WatchTransitions: (call: grpc.ServerWritableStream<WatchTransitionsRequest__Output, Transition>) => {
      const gone = new AbortController();
      call.on('cancelled', () => gone.abort());
      call.on('close', () => gone.abort());
      // the client went away, or the server is closing (the stream then ends cleanly: resume from the last id)
      const ac = { signal: AbortSignal.any([gone.signal, closing.signal]) };
      // a slow client holds the log reader here, not an ever-growing buffer in this process
      const write = backpressuredWriter<Transition>(call, ac.signal);
      (async () => {
        authorize(call.metadata);
        await api.watchTransitions(watchFilterField(call.request), (e) => write(transitionToMsg(e)), ac.signal);
      })().then(() => {
        if (!gone.signal.aborted) call.end();
      }, (err) => {
        if (!ac.signal.aborted) call.emit('error', fail('WatchTransitions', err));
        else if (!gone.signal.aborted) call.end();
      });
    },
  };

  const server = newServer();
  server.addService(serviceDefinition('orchestrator'), impl);
  addStandardServices(server, 'orchestrator', o.serving);
  const bound = await bindServer(server, { host: o.host, port: o.port, credentials: o.credentials, flag: '--grpc' });
  return {
    ...bound,
    close: (graceMs?: number) => {
      closing.abort();
      return bound.close(graceMs);
    },
  };
}
