// Original file: proto/ferry/v1/orchestrator.proto

import type { Run as _ferry_v1_Run, Run__Output as _ferry_v1_Run__Output } from '../../ferry/v1/Run.js';
import type { FilesystemReport as _ferry_v1_FilesystemReport, FilesystemReport__Output as _ferry_v1_FilesystemReport__Output } from '../../ferry/v1/FilesystemReport.js';
import type { Long } from '@grpc/proto-loader';

export interface Run {
  'id'?: (string);
  'kind'?: (string);
  'state'?: (string);
  'problem'?: (string);
  'job'?: (string);
  'sender'?: (string);
  'receiver'?: (string);
  'bytes'?: (number | string | Long);
  'createdAt'?: (string);
  'replications'?: (_ferry_v1_Run)[];
  'filesystems'?: (_ferry_v1_FilesystemReport)[];
  'snapshot'?: (string);
}

export interface Run__Output {
  'id'?: (string);
  'kind'?: (string);
  'state'?: (string);
  'problem'?: (string);
  'job'?: (string);
  'sender'?: (string);
  'receiver'?: (string);
  'bytes'?: (number);
  'createdAt'?: (string);
  'replications'?: (_ferry_v1_Run__Output)[];
  'filesystems'?: (_ferry_v1_FilesystemReport__Output)[];
  'snapshot'?: (string);
}
