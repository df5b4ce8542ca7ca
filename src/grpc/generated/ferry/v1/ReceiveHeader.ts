// Original file: proto/ferry/v1/endpoint.proto


export interface ReceiveHeader {
  'endpoint'?: (string);
  'filesystem'?: (string);
  /**
   * zfs receive -o, each "property=value" (e.g. readonly=on)
   */
  'receiveSet'?: (string)[];
  /**
   * zfs receive -x, each a property name (e.g. mountpoint)
   */
  'receiveExclude'?: (string)[];
}

export interface ReceiveHeader__Output {
  'endpoint'?: (string);
  'filesystem'?: (string);
  /**
   * zfs receive -o, each "property=value" (e.g. readonly=on)
   */
  'receiveSet'?: (string)[];
  /**
   * zfs receive -x, each a property name (e.g. mountpoint)
   */
  'receiveExclude'?: (string)[];
}
