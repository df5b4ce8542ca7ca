// Original file: proto/ferry/v1/orchestrator.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CreateJobRequest as _ferry_v1_CreateJobRequest, CreateJobRequest__Output as _ferry_v1_CreateJobRequest__Output } from '../../ferry/v1/CreateJobRequest.js';
import type { DeleteJobRequest as _ferry_v1_DeleteJobRequest, DeleteJobRequest__Output as _ferry_v1_DeleteJobRequest__Output } from '../../ferry/v1/DeleteJobRequest.js';
import type { DeleteJobResponse as _ferry_v1_DeleteJobResponse, DeleteJobResponse__Output as _ferry_v1_DeleteJobResponse__Output } from '../../ferry/v1/DeleteJobResponse.js';
import type { GetJobRequest as _ferry_v1_GetJobRequest, GetJobRequest__Output as _ferry_v1_GetJobRequest__Output } from '../../ferry/v1/GetJobRequest.js';
import type { GetPartitionRequest as _ferry_v1_GetPartitionRequest, GetPartitionRequest__Output as _ferry_v1_GetPartitionRequest__Output } from '../../ferry/v1/GetPartitionRequest.js';
import type { GetPruneReportRequest as _ferry_v1_GetPruneReportRequest, GetPruneReportRequest__Output as _ferry_v1_GetPruneReportRequest__Output } from '../../ferry/v1/GetPruneReportRequest.js';
import type { GetRunRequest as _ferry_v1_GetRunRequest, GetRunRequest__Output as _ferry_v1_GetRunRequest__Output } from '../../ferry/v1/GetRunRequest.js';
import type { Job as _ferry_v1_Job, Job__Output as _ferry_v1_Job__Output } from '../../ferry/v1/Job.js';
import type { ListJobsRequest as _ferry_v1_ListJobsRequest, ListJobsRequest__Output as _ferry_v1_ListJobsRequest__Output } from '../../ferry/v1/ListJobsRequest.js';
import type { ListJobsResponse as _ferry_v1_ListJobsResponse, ListJobsResponse__Output as _ferry_v1_ListJobsResponse__Output } from '../../ferry/v1/ListJobsResponse.js';
import type { ListPartitionsRequest as _ferry_v1_ListPartitionsRequest, ListPartitionsRequest__Output as _ferry_v1_ListPartitionsRequest__Output } from '../../ferry/v1/ListPartitionsRequest.js';
import type { ListPartitionsResponse as _ferry_v1_ListPartitionsResponse, ListPartitionsResponse__Output as _ferry_v1_ListPartitionsResponse__Output } from '../../ferry/v1/ListPartitionsResponse.js';
import type { ListRunsRequest as _ferry_v1_ListRunsRequest, ListRunsRequest__Output as _ferry_v1_ListRunsRequest__Output } from '../../ferry/v1/ListRunsRequest.js';
import type { ListRunsResponse as _ferry_v1_ListRunsResponse, ListRunsResponse__Output as _ferry_v1_ListRunsResponse__Output } from '../../ferry/v1/ListRunsResponse.js';
import type { ListTargetsRequest as _ferry_v1_ListTargetsRequest, ListTargetsRequest__Output as _ferry_v1_ListTargetsRequest__Output } from '../../ferry/v1/ListTargetsRequest.js';
import type { ListTargetsResponse as _ferry_v1_ListTargetsResponse, ListTargetsResponse__Output as _ferry_v1_ListTargetsResponse__Output } from '../../ferry/v1/ListTargetsResponse.js';
import type { NotifyLogEntriesRequest as _ferry_v1_NotifyLogEntriesRequest, NotifyLogEntriesRequest__Output as _ferry_v1_NotifyLogEntriesRequest__Output } from '../../ferry/v1/NotifyLogEntriesRequest.js';
import type { NotifyLogEntriesResponse as _ferry_v1_NotifyLogEntriesResponse, NotifyLogEntriesResponse__Output as _ferry_v1_NotifyLogEntriesResponse__Output } from '../../ferry/v1/NotifyLogEntriesResponse.js';
import type { Partition as _ferry_v1_Partition, Partition__Output as _ferry_v1_Partition__Output } from '../../ferry/v1/Partition.js';
import type { PruneJobRequest as _ferry_v1_PruneJobRequest, PruneJobRequest__Output as _ferry_v1_PruneJobRequest__Output } from '../../ferry/v1/PruneJobRequest.js';
import type { PruneJobResponse as _ferry_v1_PruneJobResponse, PruneJobResponse__Output as _ferry_v1_PruneJobResponse__Output } from '../../ferry/v1/PruneJobResponse.js';
import type { PruneReport as _ferry_v1_PruneReport, PruneReport__Output as _ferry_v1_PruneReport__Output } from '../../ferry/v1/PruneReport.js';
import type { ResetPartitionRequest as _ferry_v1_ResetPartitionRequest, ResetPartitionRequest__Output as _ferry_v1_ResetPartitionRequest__Output } from '../../ferry/v1/ResetPartitionRequest.js';
import type { ResetPartitionResponse as _ferry_v1_ResetPartitionResponse, ResetPartitionResponse__Output as _ferry_v1_ResetPartitionResponse__Output } from '../../ferry/v1/ResetPartitionResponse.js';
import type { Run as _ferry_v1_Run, Run__Output as _ferry_v1_Run__Output } from '../../ferry/v1/Run.js';
import type { RunJobRequest as _ferry_v1_RunJobRequest, RunJobRequest__Output as _ferry_v1_RunJobRequest__Output } from '../../ferry/v1/RunJobRequest.js';
import type { RunJobResponse as _ferry_v1_RunJobResponse, RunJobResponse__Output as _ferry_v1_RunJobResponse__Output } from '../../ferry/v1/RunJobResponse.js';
import type { SignalJobRequest as _ferry_v1_SignalJobRequest, SignalJobRequest__Output as _ferry_v1_SignalJobRequest__Output } from '../../ferry/v1/SignalJobRequest.js';
import type { SignalJobResponse as _ferry_v1_SignalJobResponse, SignalJobResponse__Output as _ferry_v1_SignalJobResponse__Output } from '../../ferry/v1/SignalJobResponse.js';
import type { Transition as _ferry_v1_Transition, Transition__Output as _ferry_v1_Transition__Output } from '../../ferry/v1/Transition.js';
import type { WatchTransitionsRequest as _ferry_v1_WatchTransitionsRequest, WatchTransitionsRequest__Output as _ferry_v1_WatchTransitionsRequest__Output } from '../../ferry/v1/WatchTransitionsRequest.js';

export interface OrchestratorClient extends grpc.Client {
  /**
   * a job: what to replicate where and when; its schedule starts at once
   */
  CreateJob(argument: _ferry_v1_CreateJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  CreateJob(argument: _ferry_v1_CreateJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  CreateJob(argument: _ferry_v1_CreateJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  CreateJob(argument: _ferry_v1_CreateJobRequest, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  /**
   * a job: what to replicate where and when; its schedule starts at once
   */
  createJob(argument: _ferry_v1_CreateJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  createJob(argument: _ferry_v1_CreateJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  createJob(argument: _ferry_v1_CreateJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  createJob(argument: _ferry_v1_CreateJobRequest, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  
  /**
   * removes the job and its schedule; its runs and their reports stay
   */
  DeleteJob(argument: _ferry_v1_DeleteJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_DeleteJobResponse__Output>): grpc.ClientUnaryCall;
  DeleteJob(argument: _ferry_v1_DeleteJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_DeleteJobResponse__Output>): grpc.ClientUnaryCall;
  DeleteJob(argument: _ferry_v1_DeleteJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_DeleteJobResponse__Output>): grpc.ClientUnaryCall;
  DeleteJob(argument: _ferry_v1_DeleteJobRequest, callback: grpc.requestCallback<_ferry_v1_DeleteJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * removes the job and its schedule; its runs and their reports stay
   */
  deleteJob(argument: _ferry_v1_DeleteJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_DeleteJobResponse__Output>): grpc.ClientUnaryCall;
  deleteJob(argument: _ferry_v1_DeleteJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_DeleteJobResponse__Output>): grpc.ClientUnaryCall;
  deleteJob(argument: _ferry_v1_DeleteJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_DeleteJobResponse__Output>): grpc.ClientUnaryCall;
  deleteJob(argument: _ferry_v1_DeleteJobRequest, callback: grpc.requestCallback<_ferry_v1_DeleteJobResponse__Output>): grpc.ClientUnaryCall;
  
  GetJob(argument: _ferry_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _ferry_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _ferry_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  GetJob(argument: _ferry_v1_GetJobRequest, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _ferry_v1_GetJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _ferry_v1_GetJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _ferry_v1_GetJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  getJob(argument: _ferry_v1_GetJobRequest, callback: grpc.requestCallback<_ferry_v1_Job__Output>): grpc.ClientUnaryCall;
  
  /**
   * one partition's archiver; NOT_FOUND when nothing archives it, INVALID_ARGUMENT (consumer) naming
   * the archivers when several match
   */
  GetPartition(argument: _ferry_v1_GetPartitionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Partition__Output>): grpc.ClientUnaryCall;
  GetPartition(argument: _ferry_v1_GetPartitionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_Partition__Output>): grpc.ClientUnaryCall;
  GetPartition(argument: _ferry_v1_GetPartitionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Partition__Output>): grpc.ClientUnaryCall;
  GetPartition(argument: _ferry_v1_GetPartitionRequest, callback: grpc.requestCallback<_ferry_v1_Partition__Output>): grpc.ClientUnaryCall;
  /**
   * one partition's archiver; NOT_FOUND when nothing archives it, INVALID_ARGUMENT (consumer) naming
   * the archivers when several match
   */
  getPartition(argument: _ferry_v1_GetPartitionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Partition__Output>): grpc.ClientUnaryCall;
  getPartition(argument: _ferry_v1_GetPartitionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_Partition__Output>): grpc.ClientUnaryCall;
  getPartition(argument: _ferry_v1_GetPartitionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Partition__Output>): grpc.ClientUnaryCall;
  getPartition(argument: _ferry_v1_GetPartitionRequest, callback: grpc.requestCallback<_ferry_v1_Partition__Output>): grpc.ClientUnaryCall;
  
  /**
   * what a pruning invocation destroyed (or would destroy) and kept, with why; NOT_FOUND when none
   */
  GetPruneReport(argument: _ferry_v1_GetPruneReportRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  GetPruneReport(argument: _ferry_v1_GetPruneReportRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  GetPruneReport(argument: _ferry_v1_GetPruneReportRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  GetPruneReport(argument: _ferry_v1_GetPruneReportRequest, callback: grpc.requestCallback<_ferry_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  /**
   * what a pruning invocation destroyed (or would destroy) and kept, with why; NOT_FOUND when none
   */
  getPruneReport(argument: _ferry_v1_GetPruneReportRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  getPruneReport(argument: _ferry_v1_GetPruneReportRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  getPruneReport(argument: _ferry_v1_GetPruneReportRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  getPruneReport(argument: _ferry_v1_GetPruneReportRequest, callback: grpc.requestCallback<_ferry_v1_PruneReport__Output>): grpc.ClientUnaryCall;
  
  /**
   * a run: a job invocation (`<job>.<time>`) or one replication (`run-...`, `<job>.<time>.to-<i>`)
   */
  GetRun(argument: _ferry_v1_GetRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Run__Output>): grpc.ClientUnaryCall;
  GetRun(argument: _ferry_v1_GetRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_Run__Output>): grpc.ClientUnaryCall;
  GetRun(argument: _ferry_v1_GetRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Run__Output>): grpc.ClientUnaryCall;
  GetRun(argument: _ferry_v1_GetRunRequest, callback: grpc.requestCallback<_ferry_v1_Run__Output>): grpc.ClientUnaryCall;
  /**
   * a run: a job invocation (`<job>.<time>`) or one replication (`run-...`, `<job>.<time>.to-<i>`)
   */
  getRun(argument: _ferry_v1_GetRunRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Run__Output>): grpc.ClientUnaryCall;
  getRun(argument: _ferry_v1_GetRunRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_Run__Output>): grpc.ClientUnaryCall;
  getRun(argument: _ferry_v1_GetRunRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_Run__Output>): grpc.ClientUnaryCall;
  getRun(argument: _ferry_v1_GetRunRequest, callback: grpc.requestCallback<_ferry_v1_Run__Output>): grpc.ClientUnaryCall;
  
  ListJobs(argument: _ferry_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _ferry_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _ferry_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _ferry_v1_ListJobsRequest, callback: grpc.requestCallback<_ferry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _ferry_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _ferry_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _ferry_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _ferry_v1_ListJobsRequest, callback: grpc.requestCallback<_ferry_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  
  ListPartitions(argument: _ferry_v1_ListPartitionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  ListPartitions(argument: _ferry_v1_ListPartitionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  ListPartitions(argument: _ferry_v1_ListPartitionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  ListPartitions(argument: _ferry_v1_ListPartitionsRequest, callback: grpc.requestCallback<_ferry_v1_ListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  listPartitions(argument: _ferry_v1_ListPartitionsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  listPartitions(argument: _ferry_v1_ListPartitionsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  listPartitions(argument: _ferry_v1_ListPartitionsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  listPartitions(argument: _ferry_v1_ListPartitionsRequest, callback: grpc.requestCallback<_ferry_v1_ListPartitionsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * newest first
   */
  ListRuns(argument: _ferry_v1_ListRunsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  ListRuns(argument: _ferry_v1_ListRunsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  ListRuns(argument: _ferry_v1_ListRunsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  ListRuns(argument: _ferry_v1_ListRunsRequest, callback: grpc.requestCallback<_ferry_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * newest first
   */
  listRuns(argument: _ferry_v1_ListRunsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  listRuns(argument: _ferry_v1_ListRunsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  listRuns(argument: _ferry_v1_ListRunsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  listRuns(argument: _ferry_v1_ListRunsRequest, callback: grpc.requestCallback<_ferry_v1_ListRunsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * the storage targets (agents) the orchestrator health-checks, unhealthy ones with since when
   */
  ListTargets(argument: _ferry_v1_ListTargetsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListTargetsResponse__Output>): grpc.ClientUnaryCall;
  ListTargets(argument: _ferry_v1_ListTargetsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ListTargetsResponse__Output>): grpc.ClientUnaryCall;
  ListTargets(argument: _ferry_v1_ListTargetsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListTargetsResponse__Output>): grpc.ClientUnaryCall;
  ListTargets(argument: _ferry_v1_ListTargetsRequest, callback: grpc.requestCallback<_ferry_v1_ListTargetsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * the storage targets (agents) the orchestrator health-checks, unhealthy ones with since when
   */
  listTargets(argument: _ferry_v1_ListTargetsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListTargetsResponse__Output>): grpc.ClientUnaryCall;
  listTargets(argument: _ferry_v1_ListTargetsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ListTargetsResponse__Output>): grpc.ClientUnaryCall;
  listTargets(argument: _ferry_v1_ListTargetsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ListTargetsResponse__Output>): grpc.ClientUnaryCall;
  listTargets(argument: _ferry_v1_ListTargetsRequest, callback: grpc.requestCallback<_ferry_v1_ListTargetsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * new WAL entries were committed in a log source: scan it now and archive them to the sink
   */
  NotifyLogEntries(argument: _ferry_v1_NotifyLogEntriesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_NotifyLogEntriesResponse__Output>): grpc.ClientUnaryCall;
  NotifyLogEntries(argument: _ferry_v1_NotifyLogEntriesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_NotifyLogEntriesResponse__Output>): grpc.ClientUnaryCall;
  NotifyLogEntries(argument: _ferry_v1_NotifyLogEntriesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_NotifyLogEntriesResponse__Output>): grpc.ClientUnaryCall;
  NotifyLogEntries(argument: _ferry_v1_NotifyLogEntriesRequest, callback: grpc.requestCallback<_ferry_v1_NotifyLogEntriesResponse__Output>): grpc.ClientUnaryCall;
  /**
   * new WAL entries were committed in a log source: scan it now and archive them to the sink
   */
  notifyLogEntries(argument: _ferry_v1_NotifyLogEntriesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_NotifyLogEntriesResponse__Output>): grpc.ClientUnaryCall;
  notifyLogEntries(argument: _ferry_v1_NotifyLogEntriesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_NotifyLogEntriesResponse__Output>): grpc.ClientUnaryCall;
  notifyLogEntries(argument: _ferry_v1_NotifyLogEntriesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_NotifyLogEntriesResponse__Output>): grpc.ClientUnaryCall;
  notifyLogEntries(argument: _ferry_v1_NotifyLogEntriesRequest, callback: grpc.requestCallback<_ferry_v1_NotifyLogEntriesResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * as `ferry prune JOB`: an on-demand invocation that prunes the job's sender and receivers by its
   * retention policy (dry_run: plans and reports, destroys nothing); INVALID_ARGUMENT NO_RETENTION
   * when the job has no keep rules, UNAVAILABLE JOB_BUSY while an invocation of it runs
   */
  PruneJob(argument: _ferry_v1_PruneJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_PruneJobResponse__Output>): grpc.ClientUnaryCall;
  PruneJob(argument: _ferry_v1_PruneJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_PruneJobResponse__Output>): grpc.ClientUnaryCall;
  PruneJob(argument: _ferry_v1_PruneJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_PruneJobResponse__Output>): grpc.ClientUnaryCall;
  PruneJob(argument: _ferry_v1_PruneJobRequest, callback: grpc.requestCallback<_ferry_v1_PruneJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * as `ferry prune JOB`: an on-demand invocation that prunes the job's sender and receivers by its
   * retention policy (dry_run: plans and reports, destroys nothing); INVALID_ARGUMENT NO_RETENTION
   * when the job has no keep rules, UNAVAILABLE JOB_BUSY while an invocation of it runs
   */
  pruneJob(argument: _ferry_v1_PruneJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_PruneJobResponse__Output>): grpc.ClientUnaryCall;
  pruneJob(argument: _ferry_v1_PruneJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_PruneJobResponse__Output>): grpc.ClientUnaryCall;
  pruneJob(argument: _ferry_v1_PruneJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_PruneJobResponse__Output>): grpc.ClientUnaryCall;
  pruneJob(argument: _ferry_v1_PruneJobRequest, callback: grpc.requestCallback<_ferry_v1_PruneJobResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * after a person fixed what stopped a Failed partition (CHECKSUM_MISMATCH: the wrong object
   * removed from the sink), resumes its archiver from the LSN it failed on; FAILED_PRECONDITION
   * NOT_FAILED when it is not Failed; the same selection as GetPartition
   */
  ResetPartition(argument: _ferry_v1_ResetPartitionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ResetPartitionResponse__Output>): grpc.ClientUnaryCall;
  ResetPartition(argument: _ferry_v1_ResetPartitionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ResetPartitionResponse__Output>): grpc.ClientUnaryCall;
  ResetPartition(argument: _ferry_v1_ResetPartitionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ResetPartitionResponse__Output>): grpc.ClientUnaryCall;
  ResetPartition(argument: _ferry_v1_ResetPartitionRequest, callback: grpc.requestCallback<_ferry_v1_ResetPartitionResponse__Output>): grpc.ClientUnaryCall;
  /**
   * after a person fixed what stopped a Failed partition (CHECKSUM_MISMATCH: the wrong object
   * removed from the sink), resumes its archiver from the LSN it failed on; FAILED_PRECONDITION
   * NOT_FAILED when it is not Failed; the same selection as GetPartition
   */
  resetPartition(argument: _ferry_v1_ResetPartitionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ResetPartitionResponse__Output>): grpc.ClientUnaryCall;
  resetPartition(argument: _ferry_v1_ResetPartitionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_ResetPartitionResponse__Output>): grpc.ClientUnaryCall;
  resetPartition(argument: _ferry_v1_ResetPartitionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_ResetPartitionResponse__Output>): grpc.ClientUnaryCall;
  resetPartition(argument: _ferry_v1_ResetPartitionRequest, callback: grpc.requestCallback<_ferry_v1_ResetPartitionResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * an invocation of the job now, whatever its schedule
   */
  RunJob(argument: _ferry_v1_RunJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_RunJobResponse__Output>): grpc.ClientUnaryCall;
  RunJob(argument: _ferry_v1_RunJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_RunJobResponse__Output>): grpc.ClientUnaryCall;
  RunJob(argument: _ferry_v1_RunJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_RunJobResponse__Output>): grpc.ClientUnaryCall;
  RunJob(argument: _ferry_v1_RunJobRequest, callback: grpc.requestCallback<_ferry_v1_RunJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * an invocation of the job now, whatever its schedule
   */
  runJob(argument: _ferry_v1_RunJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_RunJobResponse__Output>): grpc.ClientUnaryCall;
  runJob(argument: _ferry_v1_RunJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_RunJobResponse__Output>): grpc.ClientUnaryCall;
  runJob(argument: _ferry_v1_RunJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_RunJobResponse__Output>): grpc.ClientUnaryCall;
  runJob(argument: _ferry_v1_RunJobRequest, callback: grpc.requestCallback<_ferry_v1_RunJobResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * as `zrepl signal`: WAKEUP runs the job now, or cuts the retry waits of its active invocation short;
   * RESET stops its active invocation (it ends in PermanentError "reset by operator")
   */
  SignalJob(argument: _ferry_v1_SignalJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_SignalJobResponse__Output>): grpc.ClientUnaryCall;
  SignalJob(argument: _ferry_v1_SignalJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_SignalJobResponse__Output>): grpc.ClientUnaryCall;
  SignalJob(argument: _ferry_v1_SignalJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_SignalJobResponse__Output>): grpc.ClientUnaryCall;
  SignalJob(argument: _ferry_v1_SignalJobRequest, callback: grpc.requestCallback<_ferry_v1_SignalJobResponse__Output>): grpc.ClientUnaryCall;
  /**
   * as `zrepl signal`: WAKEUP runs the job now, or cuts the retry waits of its active invocation short;
   * RESET stops its active invocation (it ends in PermanentError "reset by operator")
   */
  signalJob(argument: _ferry_v1_SignalJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_SignalJobResponse__Output>): grpc.ClientUnaryCall;
  signalJob(argument: _ferry_v1_SignalJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_ferry_v1_SignalJobResponse__Output>): grpc.ClientUnaryCall;
  signalJob(argument: _ferry_v1_SignalJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_ferry_v1_SignalJobResponse__Output>): grpc.ClientUnaryCall;
  signalJob(argument: _ferry_v1_SignalJobRequest, callback: grpc.requestCallback<_ferry_v1_SignalJobResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * committed transitions as they happen, oldest first, after `after_id` ("" = from now, "0" = from
   * the oldest kept); a client that reconnects with the id of the last event it saw misses nothing
   */
  WatchTransitions(argument: _ferry_v1_WatchTransitionsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ferry_v1_Transition__Output>;
  WatchTransitions(argument: _ferry_v1_WatchTransitionsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ferry_v1_Transition__Output>;
  /**
   * committed transitions as they happen, oldest first, after `after_id` ("" = from now, "0" = from
   * the oldest kept); a client that reconnects with the id of the last event it saw misses nothing
   */
  watchTransitions(argument: _ferry_v1_WatchTransitionsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_ferry_v1_Transition__Output>;
  watchTransitions(argument: _ferry_v1_WatchTransitionsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_ferry_v1_Transition__Output>;
  
}

export interface OrchestratorHandlers extends grpc.UntypedServiceImplementation {
  /**
   * a job: what to replicate where and when; its schedule starts at once
   */
  CreateJob: grpc.handleUnaryCall<_ferry_v1_CreateJobRequest__Output, _ferry_v1_Job>;
  
  /**
   * removes the job and its schedule; its runs and their reports stay
   */
  DeleteJob: grpc.handleUnaryCall<_ferry_v1_DeleteJobRequest__Output, _ferry_v1_DeleteJobResponse>;
  
  GetJob: grpc.handleUnaryCall<_ferry_v1_GetJobRequest__Output, _ferry_v1_Job>;
  
  /**
   * one partition's archiver; NOT_FOUND when nothing archives it, INVALID_ARGUMENT (consumer) naming
   * the archivers when several match
   */
  GetPartition: grpc.handleUnaryCall<_ferry_v1_GetPartitionRequest__Output, _ferry_v1_Partition>;
  
  /**
   * what a pruning invocation destroyed (or would destroy) and kept, with why; NOT_FOUND when none
   */
  GetPruneReport: grpc.handleUnaryCall<_ferry_v1_GetPruneReportRequest__Output, _ferry_v1_PruneReport>;
  
  /**
   * a run: a job invocation (`<job>.<time>`) or one replication (`run-...`, `<job>.<time>.to-<i>`)
   */
  GetRun: grpc.handleUnaryCall<_ferry_v1_GetRunRequest__Output, _ferry_v1_Run>;
  
  ListJobs: grpc.handleUnaryCall<_ferry_v1_ListJobsRequest__Output, _ferry_v1_ListJobsResponse>;
  
  ListPartitions: grpc.handleUnaryCall<_ferry_v1_ListPartitionsRequest__Output, _ferry_v1_ListPartitionsResponse>;
  
  /**
   * newest first
   */
  ListRuns: grpc.handleUnaryCall<_ferry_v1_ListRunsRequest__Output, _ferry_v1_ListRunsResponse>;
  
  /**
   * the storage targets (agents) the orchestrator health-checks, unhealthy ones with since when
   */
  ListTargets: grpc.handleUnaryCall<_ferry_v1_ListTargetsRequest__Output, _ferry_v1_ListTargetsResponse>;
  
  /**
   * new WAL entries were committed in a log source: scan it now and archive them to the sink
   */
  NotifyLogEntries: grpc.handleUnaryCall<_ferry_v1_NotifyLogEntriesRequest__Output, _ferry_v1_NotifyLogEntriesResponse>;
  
  /**
   * as `ferry prune JOB`: an on-demand invocation that prunes the job's sender and receivers by its
   * retention policy (dry_run: plans and reports, destroys nothing); INVALID_ARGUMENT NO_RETENTION
   * when the job has no keep rules, UNAVAILABLE JOB_BUSY while an invocation of it runs
   */
  PruneJob: grpc.handleUnaryCall<_ferry_v1_PruneJobRequest__Output, _ferry_v1_PruneJobResponse>;
  
  /**
   * after a person fixed what stopped a Failed partition (CHECKSUM_MISMATCH: the wrong object
   * removed from the sink), resumes its archiver from the LSN it failed on; FAILED_PRECONDITION
   * NOT_FAILED when it is not Failed; the same selection as GetPartition
   */
  ResetPartition: grpc.handleUnaryCall<_ferry_v1_ResetPartitionRequest__Output, _ferry_v1_ResetPartitionResponse>;
  
  /**
   * an invocation of the job now, whatever its schedule
   */
  RunJob: grpc.handleUnaryCall<_ferry_v1_RunJobRequest__Output, _ferry_v1_RunJobResponse>;
  
  /**
   * as `zrepl signal`: WAKEUP runs the job now, or cuts the retry waits of its active invocation short;
   * RESET stops its active invocation (it ends in PermanentError "reset by operator")
   */
  SignalJob: grpc.handleUnaryCall<_ferry_v1_SignalJobRequest__Output, _ferry_v1_SignalJobResponse>;
  
  /**
   * committed transitions as they happen, oldest first, after `after_id` ("" = from now, "0" = from
   * the oldest kept); a client that reconnects with the id of the last event it saw misses nothing
   */
  WatchTransitions: grpc.handleServerStreamingCall<_ferry_v1_WatchTransitionsRequest__Output, _ferry_v1_Transition>;
  
}

export interface OrchestratorDefinition extends grpc.ServiceDefinition {
  CreateJob: MethodDefinition<_ferry_v1_CreateJobRequest, _ferry_v1_Job, _ferry_v1_CreateJobRequest__Output, _ferry_v1_Job__Output>
  DeleteJob: MethodDefinition<_ferry_v1_DeleteJobRequest, _ferry_v1_DeleteJobResponse, _ferry_v1_DeleteJobRequest__Output, _ferry_v1_DeleteJobResponse__Output>
  GetJob: MethodDefinition<_ferry_v1_GetJobRequest, _ferry_v1_Job, _ferry_v1_GetJobRequest__Output, _ferry_v1_Job__Output>
  GetPartition: MethodDefinition<_ferry_v1_GetPartitionRequest, _ferry_v1_Partition, _ferry_v1_GetPartitionRequest__Output, _ferry_v1_Partition__Output>
  GetPruneReport: MethodDefinition<_ferry_v1_GetPruneReportRequest, _ferry_v1_PruneReport, _ferry_v1_GetPruneReportRequest__Output, _ferry_v1_PruneReport__Output>
  GetRun: MethodDefinition<_ferry_v1_GetRunRequest, _ferry_v1_Run, _ferry_v1_GetRunRequest__Output, _ferry_v1_Run__Output>
  ListJobs: MethodDefinition<_ferry_v1_ListJobsRequest, _ferry_v1_ListJobsResponse, _ferry_v1_ListJobsRequest__Output, _ferry_v1_ListJobsResponse__Output>
  ListPartitions: MethodDefinition<_ferry_v1_ListPartitionsRequest, _ferry_v1_ListPartitionsResponse, _ferry_v1_ListPartitionsRequest__Output, _ferry_v1_ListPartitionsResponse__Output>
  ListRuns: MethodDefinition<_ferry_v1_ListRunsRequest, _ferry_v1_ListRunsResponse, _ferry_v1_ListRunsRequest__Output, _ferry_v1_ListRunsResponse__Output>
  ListTargets: MethodDefinition<_ferry_v1_ListTargetsRequest, _ferry_v1_ListTargetsResponse, _ferry_v1_ListTargetsRequest__Output, _ferry_v1_ListTargetsResponse__Output>
  NotifyLogEntries: MethodDefinition<_ferry_v1_NotifyLogEntriesRequest, _ferry_v1_NotifyLogEntriesResponse, _ferry_v1_NotifyLogEntriesRequest__Output, _ferry_v1_NotifyLogEntriesResponse__Output>
  PruneJob: MethodDefinition<_ferry_v1_PruneJobRequest, _ferry_v1_PruneJobResponse, _ferry_v1_PruneJobRequest__Output, _ferry_v1_PruneJobResponse__Output>
  ResetPartition: MethodDefinition<_ferry_v1_ResetPartitionRequest, _ferry_v1_ResetPartitionResponse, _ferry_v1_ResetPartitionRequest__Output, _ferry_v1_ResetPartitionResponse__Output>
  RunJob: MethodDefinition<_ferry_v1_RunJobRequest, _ferry_v1_RunJobResponse, _ferry_v1_RunJobRequest__Output, _ferry_v1_RunJobResponse__Output>
  SignalJob: MethodDefinition<_ferry_v1_SignalJobRequest, _ferry_v1_SignalJobResponse, _ferry_v1_SignalJobRequest__Output, _ferry_v1_SignalJobResponse__Output>
  WatchTransitions: MethodDefinition<_ferry_v1_WatchTransitionsRequest, _ferry_v1_Transition, _ferry_v1_WatchTransitionsRequest__Output, _ferry_v1_Transition__Output>
}
