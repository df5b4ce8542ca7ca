// Original file: proto/ferry/v1/endpoint.proto

import type { Version as _ferry_v1_Version, Version__Output as _ferry_v1_Version__Output } from '../../ferry/v1/Version.js';

export interface SendRequest {
  'endpoint'?: (string);
  'filesystem'?: (string);
  /**
   * absent for a full stream
   */
  'from'?: (_ferry_v1_Version | null);
  'to'?: (_ferry_v1_Version | null);
  /**
   * every snapshot after `from` up to `to` in one stream (zfs send -I)
   */
  'intermediates'?: (boolean);
  /**
   * continue the receiver's interrupted receive (its ResumeToken) instead of sending from the start;
   * FAILED_PRECONDITION RESUME_MISMATCH (a token of another step), RESUME_STALE (no longer resumable)
   * or RESUME_UNSUPPORTED (this zfs has no send -t): send afresh
   */
  'resumeToken'?: (string);
  /**
   * zfs send -w (raw: encrypted blocks as stored); FAILED_PRECONDITION SEND_OPTION_UNSUPPORTED when
   * the agent's zfs cannot, as for the three below (docs/send-options.md)
   */
  'raw'?: (boolean);
  /**
   * zfs send -c; btrfs send --compressed-data (stream protocol 2: the receiver needs btrfs-progs 6.0+)
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
   * a non-raw send of an encrypted dataset; without it FAILED_PRECONDITION ENCRYPTED_SEND
   */
  'allowDecryptedSend'?: (boolean);
  /**
   * btrfs: the newest send stream protocol the receiver reads (its DescribeReceiver); the agent sends
   * the newest version both it and the receiver have. 0 (unset): version 1, which every btrfs
   * receive reads. With `compressed`, which needs protocol 2, a 1 is FAILED_PRECONDITION
   * SEND_OPTION_UNSUPPORTED. Other kinds ignore it
   */
  'streamProtocol'?: (number);
}

export interface SendRequest__Output {
  'endpoint'?: (string);
  'filesystem'?: (string);
  /**
   * absent for a full stream
   */
  'from'?: (_ferry_v1_Version__Output);
  'to'?: (_ferry_v1_Version__Output);
  /**
   * every snapshot after `from` up to `to` in one stream (zfs send -I)
   */
  'intermediates'?: (boolean);
  /**
   * continue the receiver's interrupted receive (its ResumeToken) instead of sending from the start;
   * FAILED_PRECONDITION RESUME_MISMATCH (a token of another step), RESUME_STALE (no longer resumable)
   * or RESUME_UNSUPPORTED (this zfs has no send -t): send afresh
   */
  'resumeToken'?: (string);
  /**
   * zfs send -w (raw: encrypted blocks as stored); FAILED_PRECONDITION SEND_OPTION_UNSUPPORTED when
   * the agent's zfs cannot, as for the three below (docs/send-options.md)
   */
  'raw'?: (boolean);
  /**
   * zfs send -c; btrfs send --compressed-data (stream protocol 2: the receiver needs btrfs-progs 6.0+)
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
   * a non-raw send of an encrypted dataset; without it FAILED_PRECONDITION ENCRYPTED_SEND
   */
  'allowDecryptedSend'?: (boolean);
  /**
   * btrfs: the newest send stream protocol the receiver reads (its DescribeReceiver); the agent sends
   * the newest version both it and the receiver have. 0 (unset): version 1, which every btrfs
   * receive reads. With `compressed`, which needs protocol 2, a 1 is FAILED_PRECONDITION
   * SEND_OPTION_UNSUPPORTED. Other kinds ignore it
   */
  'streamProtocol'?: (number);
}
