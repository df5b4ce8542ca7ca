import type * as grpc from '@grpc/grpc-js';
import type { MessageTypeDefinition } from '@grpc/proto-loader';

import type { CreateJobRequest as _ferry_v1_CreateJobRequest, CreateJobRequest__Output as _ferry_v1_CreateJobRequest__Output } from './ferry/v1/CreateJobRequest.js';
import type { CurrentStep as _ferry_v1_CurrentStep, CurrentStep__Output as _ferry_v1_CurrentStep__Output } from './ferry/v1/CurrentStep.js';
import type { DeleteJobRequest as _ferry_v1_DeleteJobRequest, DeleteJobRequest__Output as _ferry_v1_DeleteJobRequest__Output } from './ferry/v1/DeleteJobRequest.js';
import type { DeleteJobResponse as _ferry_v1_DeleteJobResponse, DeleteJobResponse__Output as _ferry_v1_DeleteJobResponse__Output } from './ferry/v1/DeleteJobResponse.js';
import type { FilesystemReport as _ferry_v1_FilesystemReport, FilesystemReport__Output as _ferry_v1_FilesystemReport__Output } from './ferry/v1/FilesystemReport.js';
import type { GetJobRequest as _ferry_v1_GetJobRequest, GetJobRequest__Output as _ferry_v1_GetJobRequest__Output } from './ferry/v1/GetJobRequest.js';
import type { GetPartitionRequest as _ferry_v1_GetPartitionRequest, GetPartitionRequest__Output as _ferry_v1_GetPartitionRequest__Output } from './ferry/v1/GetPartitionRequest.js';
import type { GetPruneReportRequest as _ferry_v1_GetPruneReportRequest, GetPruneReportRequest__Output as _ferry_v1_GetPruneReportRequest__Output } from './ferry/v1/GetPruneReportRequest.js';
import type { GetRunRequest as _ferry_v1_GetRunRequest, GetRunRequest__Output as _ferry_v1_GetRunRequest__Output } from './ferry/v1/GetRunRequest.js';
import type { Job as _ferry_v1_Job, Job__Output as _ferry_v1_Job__Output } from './ferry/v1/Job.js';
import type { JobSpec as _ferry_v1_JobSpec, JobSpec__Output as _ferry_v1_JobSpec__Output } from './ferry/v1/JobSpec.js';
import type { KeepRule as _ferry_v1_KeepRule, KeepRule__Output as _ferry_v1_KeepRule__Output } from './ferry/v1/KeepRule.js';
import type { KeptSnapshot as _ferry_v1_KeptSnapshot, KeptSnapshot__Output as _ferry_v1_KeptSnapshot__Output } from './ferry/v1/KeptSnapshot.js';
import type { ListJobsRequest as _ferry_v1_ListJobsRequest, ListJobsRequest__Output as _ferry_v1_ListJobsRequest__Output } from './ferry/v1/ListJobsRequest.js';
import type { ListJobsResponse as _ferry_v1_ListJobsResponse, ListJobsResponse__Output as _ferry_v1_ListJobsResponse__Output } from './ferry/v1/ListJobsResponse.js';
import type { ListPartitionsRequest as _ferry_v1_ListPartitionsRequest, ListPartitionsRequest__Output as _ferry_v1_ListPartitionsRequest__Output } from './ferry/v1/ListPartitionsRequest.js';
import type { ListPartitionsResponse as _ferry_v1_ListPartitionsResponse, ListPartitionsResponse__Output as _ferry_v1_ListPartitionsResponse__Output } from './ferry/v1/ListPartitionsResponse.js';
import type { ListRunsRequest as _ferry_v1_ListRunsRequest, ListRunsRequest__Output as _ferry_v1_ListRunsRequest__Output } from './ferry/v1/ListRunsRequest.js';
import type { ListRunsResponse as _ferry_v1_ListRunsResponse, ListRunsResponse__Output as _ferry_v1_ListRunsResponse__Output } from './ferry/v1/ListRunsResponse.js';
import type { ListTargetsRequest as _ferry_v1_ListTargetsRequest, ListTargetsRequest__Output as _ferry_v1_ListTargetsRequest__Output } from './ferry/v1/ListTargetsRequest.js';
import type { ListTargetsResponse as _ferry_v1_ListTargetsResponse, ListTargetsResponse__Output as _ferry_v1_ListTargetsResponse__Output } from './ferry/v1/ListTargetsResponse.js';
import type { NotifyLogEntriesRequest as _ferry_v1_NotifyLogEntriesRequest, NotifyLogEntriesRequest__Output as _ferry_v1_NotifyLogEntriesRequest__Output } from './ferry/v1/NotifyLogEntriesRequest.js';
import type { NotifyLogEntriesResponse as _ferry_v1_NotifyLogEntriesResponse, NotifyLogEntriesResponse__Output as _ferry_v1_NotifyLogEntriesResponse__Output } from './ferry/v1/NotifyLogEntriesResponse.js';
import type { OrchestratorClient as _ferry_v1_OrchestratorClient, OrchestratorDefinition as _ferry_v1_OrchestratorDefinition } from './ferry/v1/Orchestrator.js';
import type { Partition as _ferry_v1_Partition, Partition__Output as _ferry_v1_Partition__Output } from './ferry/v1/Partition.js';
import type { PruneJobRequest as _ferry_v1_PruneJobRequest, PruneJobRequest__Output as _ferry_v1_PruneJobRequest__Output } from './ferry/v1/PruneJobRequest.js';
import type { PruneJobResponse as _ferry_v1_PruneJobResponse, PruneJobResponse__Output as _ferry_v1_PruneJobResponse__Output } from './ferry/v1/PruneJobResponse.js';
import type { PruneReport as _ferry_v1_PruneReport, PruneReport__Output as _ferry_v1_PruneReport__Output } from './ferry/v1/PruneReport.js';
import type { PruneSideReport as _ferry_v1_PruneSideReport, PruneSideReport__Output as _ferry_v1_PruneSideReport__Output } from './ferry/v1/PruneSideReport.js';
import type { PrunedSnapshot as _ferry_v1_PrunedSnapshot, PrunedSnapshot__Output as _ferry_v1_PrunedSnapshot__Output } from './ferry/v1/PrunedSnapshot.js';
import type { Pruning as _ferry_v1_Pruning, Pruning__Output as _ferry_v1_Pruning__Output } from './ferry/v1/Pruning.js';
import type { ResetPartitionRequest as _ferry_v1_ResetPartitionRequest, ResetPartitionRequest__Output as _ferry_v1_ResetPartitionRequest__Output } from './ferry/v1/ResetPartitionRequest.js';
import type { ResetPartitionResponse as _ferry_v1_ResetPartitionResponse, ResetPartitionResponse__Output as _ferry_v1_ResetPartitionResponse__Output } from './ferry/v1/ResetPartitionResponse.js';
import type { Retention as _ferry_v1_Retention, Retention__Output as _ferry_v1_Retention__Output } from './ferry/v1/Retention.js';
import type { RetryPolicy as _ferry_v1_RetryPolicy, RetryPolicy__Output as _ferry_v1_RetryPolicy__Output } from './ferry/v1/RetryPolicy.js';
import type { Run as _ferry_v1_Run, Run__Output as _ferry_v1_Run__Output } from './ferry/v1/Run.js';
import type { RunJobRequest as _ferry_v1_RunJobRequest, RunJobRequest__Output as _ferry_v1_RunJobRequest__Output } from './ferry/v1/RunJobRequest.js';
import type { RunJobResponse as _ferry_v1_RunJobResponse, RunJobResponse__Output as _ferry_v1_RunJobResponse__Output } from './ferry/v1/RunJobResponse.js';
import type { Schedule as _ferry_v1_Schedule, Schedule__Output as _ferry_v1_Schedule__Output } from './ferry/v1/Schedule.js';
import type { SendOptions as _ferry_v1_SendOptions, SendOptions__Output as _ferry_v1_SendOptions__Output } from './ferry/v1/SendOptions.js';
import type { SignalJobRequest as _ferry_v1_SignalJobRequest, SignalJobRequest__Output as _ferry_v1_SignalJobRequest__Output } from './ferry/v1/SignalJobRequest.js';
import type { SignalJobResponse as _ferry_v1_SignalJobResponse, SignalJobResponse__Output as _ferry_v1_SignalJobResponse__Output } from './ferry/v1/SignalJobResponse.js';
import type { Target as _ferry_v1_Target, Target__Output as _ferry_v1_Target__Output } from './ferry/v1/Target.js';
import type { Transition as _ferry_v1_Transition, Transition__Output as _ferry_v1_Transition__Output } from './ferry/v1/Transition.js';
import type { WatchTransitionsRequest as _ferry_v1_WatchTransitionsRequest, WatchTransitionsRequest__Output as _ferry_v1_WatchTransitionsRequest__Output } from './ferry/v1/WatchTransitionsRequest.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  ferry: {
    v1: {
      CreateJobRequest: MessageTypeDefinition<_ferry_v1_CreateJobRequest, _ferry_v1_CreateJobRequest__Output>
      CurrentStep: MessageTypeDefinition<_ferry_v1_CurrentStep, _ferry_v1_CurrentStep__Output>
      DeleteJobRequest: MessageTypeDefinition<_ferry_v1_DeleteJobRequest, _ferry_v1_DeleteJobRequest__Output>
      DeleteJobResponse: MessageTypeDefinition<_ferry_v1_DeleteJobResponse, _ferry_v1_DeleteJobResponse__Output>
      FilesystemReport: MessageTypeDefinition<_ferry_v1_FilesystemReport, _ferry_v1_FilesystemReport__Output>
      GetJobRequest: MessageTypeDefinition<_ferry_v1_GetJobRequest, _ferry_v1_GetJobRequest__Output>
      GetPartitionRequest: MessageTypeDefinition<_ferry_v1_GetPartitionRequest, _ferry_v1_GetPartitionRequest__Output>
      GetPruneReportRequest: MessageTypeDefinition<_ferry_v1_GetPruneReportRequest, _ferry_v1_GetPruneReportRequest__Output>
      GetRunRequest: MessageTypeDefinition<_ferry_v1_GetRunRequest, _ferry_v1_GetRunRequest__Output>
      Job: MessageTypeDefinition<_ferry_v1_Job, _ferry_v1_Job__Output>
      JobSpec: MessageTypeDefinition<_ferry_v1_JobSpec, _ferry_v1_JobSpec__Output>
      KeepRule: MessageTypeDefinition<_ferry_v1_KeepRule, _ferry_v1_KeepRule__Output>
      KeptSnapshot: MessageTypeDefinition<_ferry_v1_KeptSnapshot, _ferry_v1_KeptSnapshot__Output>
      ListJobsRequest: MessageTypeDefinition<_ferry_v1_ListJobsRequest, _ferry_v1_ListJobsRequest__Output>
      ListJobsResponse: MessageTypeDefinition<_ferry_v1_ListJobsResponse, _ferry_v1_ListJobsResponse__Output>
      ListPartitionsRequest: MessageTypeDefinition<_ferry_v1_ListPartitionsRequest, _ferry_v1_ListPartitionsRequest__Output>
      ListPartitionsResponse: MessageTypeDefinition<_ferry_v1_ListPartitionsResponse, _ferry_v1_ListPartitionsResponse__Output>
      ListRunsRequest: MessageTypeDefinition<_ferry_v1_ListRunsRequest, _ferry_v1_ListRunsRequest__Output>
      ListRunsResponse: MessageTypeDefinition<_ferry_v1_ListRunsResponse, _ferry_v1_ListRunsResponse__Output>
      ListTargetsRequest: MessageTypeDefinition<_ferry_v1_ListTargetsRequest, _ferry_v1_ListTargetsRequest__Output>
      ListTargetsResponse: MessageTypeDefinition<_ferry_v1_ListTargetsResponse, _ferry_v1_ListTargetsResponse__Output>
      NotifyLogEntriesRequest: MessageTypeDefinition<_ferry_v1_NotifyLogEntriesRequest, _ferry_v1_NotifyLogEntriesRequest__Output>
      NotifyLogEntriesResponse: MessageTypeDefinition<_ferry_v1_NotifyLogEntriesResponse, _ferry_v1_NotifyLogEntriesResponse__Output>
      Orchestrator: SubtypeConstructor<typeof grpc.Client, _ferry_v1_OrchestratorClient> & { service: _ferry_v1_OrchestratorDefinition }
      Partition: MessageTypeDefinition<_ferry_v1_Partition, _ferry_v1_Partition__Output>
      PruneJobRequest: MessageTypeDefinition<_ferry_v1_PruneJobRequest, _ferry_v1_PruneJobRequest__Output>
      PruneJobResponse: MessageTypeDefinition<_ferry_v1_PruneJobResponse, _ferry_v1_PruneJobResponse__Output>
      PruneReport: MessageTypeDefinition<_ferry_v1_PruneReport, _ferry_v1_PruneReport__Output>
      PruneSideReport: MessageTypeDefinition<_ferry_v1_PruneSideReport, _ferry_v1_PruneSideReport__Output>
      PrunedSnapshot: MessageTypeDefinition<_ferry_v1_PrunedSnapshot, _ferry_v1_PrunedSnapshot__Output>
      Pruning: MessageTypeDefinition<_ferry_v1_Pruning, _ferry_v1_Pruning__Output>
      ResetPartitionRequest: MessageTypeDefinition<_ferry_v1_ResetPartitionRequest, _ferry_v1_ResetPartitionRequest__Output>
      ResetPartitionResponse: MessageTypeDefinition<_ferry_v1_ResetPartitionResponse, _ferry_v1_ResetPartitionResponse__Output>
      Retention: MessageTypeDefinition<_ferry_v1_Retention, _ferry_v1_Retention__Output>
      RetryPolicy: MessageTypeDefinition<_ferry_v1_RetryPolicy, _ferry_v1_RetryPolicy__Output>
      Run: MessageTypeDefinition<_ferry_v1_Run, _ferry_v1_Run__Output>
      RunJobRequest: MessageTypeDefinition<_ferry_v1_RunJobRequest, _ferry_v1_RunJobRequest__Output>
      RunJobResponse: MessageTypeDefinition<_ferry_v1_RunJobResponse, _ferry_v1_RunJobResponse__Output>
      Schedule: MessageTypeDefinition<_ferry_v1_Schedule, _ferry_v1_Schedule__Output>
      SendOptions: MessageTypeDefinition<_ferry_v1_SendOptions, _ferry_v1_SendOptions__Output>
      SignalJobRequest: MessageTypeDefinition<_ferry_v1_SignalJobRequest, _ferry_v1_SignalJobRequest__Output>
      SignalJobResponse: MessageTypeDefinition<_ferry_v1_SignalJobResponse, _ferry_v1_SignalJobResponse__Output>
      Target: MessageTypeDefinition<_ferry_v1_Target, _ferry_v1_Target__Output>
      Transition: MessageTypeDefinition<_ferry_v1_Transition, _ferry_v1_Transition__Output>
      WatchTransitionsRequest: MessageTypeDefinition<_ferry_v1_WatchTransitionsRequest, _ferry_v1_WatchTransitionsRequest__Output>
    }
  }
}

