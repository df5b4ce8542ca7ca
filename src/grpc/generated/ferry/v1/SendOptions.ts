// Original file: proto/ferry/v1/orchestrator.proto

import type { Long } from '@grpc/proto-loader';

/**
 * A job's send options; unset fields: plain zfs send/receive, no limit. Every flag but
 * bandwidth_limit is for zfs; btrfs honours compressed too, and refuses the others, as dir jobs
 * refuse them all (docs/send-options.md).
 */
export interface SendOptions {
  /**
   * zfs send -w: raw (encrypted blocks as stored; the receiver stays encrypted)
   */
  'raw'?: (boolean);
  /**
   * zfs send -c; btrfs send --compressed-data
   */
  'compressed'?: (boolean);
  /**
   * zfs send -L
   */
  'largeBlocks'?: (boolean);
  /**
   * zfs send -p
   */
  'properties'?: (boolean);
  /**
   * send an encrypted dataset without raw (the receiver gets it decrypted); refused otherwise
   */
  'allowDecryptedSend'?: (boolean);
  /**
   * zfs receive -o, each "property=value" (e.g. readonly=on)
   */
  'receiveSet'?: (string)[];
  /**
   * zfs receive -x, each a property name (e.g. mountpoint)
   */
  'receiveExclude'?: (string)[];
  /**
   * bytes per second on every path of a step; 0 = unlimited
   */
  'bandwidthLimit'?: (number | string | Long);
}

/**
 * A job's send options; unset fields: plain zfs send/receive, no limit. Every flag but
 * bandwidth_limit is for zfs; btrfs honours compressed too, and refuses the others, as dir jobs
 * refuse them all (docs/send-options.md).
 */
export interface SendOptions__Output {
  /**
   * zfs send -w: raw (encrypted blocks as stored; the receiver stays encrypted)
   */
  'raw'?: (boolean);
  /**
   * zfs send -c; btrfs send --compressed-data
   */
  'compressed'?: (boolean);
  /**
   * zfs send -L
   */
  'largeBlocks'?: (boolean);
  /**
   * zfs send -p
   */
  'properties'?: (boolean);
  /**
   * send an encrypted dataset without raw (the receiver gets it decrypted); refused otherwise
   */
  'allowDecryptedSend'?: (boolean);
  /**
   * zfs receive -o, each "property=value" (e.g. readonly=on)
   */
  'receiveSet'?: (string)[];
  /**
   * zfs receive -x, each a property name (e.g. mountpoint)
   */
  'receiveExclude'?: (string)[];
  /**
   * bytes per second on every path of a step; 0 = unlimited
   */
  'bandwidthLimit'?: (number);
}
