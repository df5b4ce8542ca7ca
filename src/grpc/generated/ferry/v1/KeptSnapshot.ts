// Original file: proto/ferry/v1/orchestrator.proto


export interface KeptSnapshot {
  'filesystem'?: (string);
  'name'?: (string);
  'reasons'?: (string)[];
}

export interface KeptSnapshot__Output {
  'filesystem'?: (string);
  'name'?: (string);
  'reasons'?: (string)[];
}
