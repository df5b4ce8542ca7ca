// Original file: proto/ferry/v1/orchestrator.proto


export interface SignalJobResponse {
  /**
   * what the signal did, for a person
   */
  'outcome'?: (string);
  /**
   * machines the signal was delivered to
   */
  'machines'?: (string)[];
}

export interface SignalJobResponse__Output {
  /**
   * what the signal did, for a person
   */
  'outcome'?: (string);
  /**
   * machines the signal was delivered to
   */
  'machines'?: (string)[];
}
