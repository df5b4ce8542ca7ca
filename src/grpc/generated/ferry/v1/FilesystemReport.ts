// Original file: proto/ferry/v1/orchestrator.proto

import type { CurrentStep as _ferry_v1_CurrentStep, CurrentStep__Output as _ferry_v1_CurrentStep__Output } from '../../ferry/v1/CurrentStep.js';
import type { Long } from '@grpc/proto-loader';

export interface FilesystemReport {
  'name'?: (string);
  'state'?: (string);
  'stepsDone'?: (number);
  'stepsTotal'?: (number);
  'bytes'?: (number | string | Long);
  'problem'?: (string);
  'sleepUntil'?: (string);
  'currentStep'?: (_ferry_v1_CurrentStep | null);
}

export interface FilesystemReport__Output {
  'name'?: (string);
  'state'?: (string);
  'stepsDone'?: (number);
  'stepsTotal'?: (number);
  'bytes'?: (number);
  'problem'?: (string);
  'sleepUntil'?: (string);
  'currentStep'?: (_ferry_v1_CurrentStep__Output);
}
