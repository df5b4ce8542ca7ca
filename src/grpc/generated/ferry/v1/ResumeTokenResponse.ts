// Original file: proto/ferry/v1/endpoint.proto


export interface ResumeTokenResponse {
  /**
   * "" when the filesystem has no interrupted receive or the driver cannot resume (zfs-fuse, dir, btrfs)
   */
  'token'?: (string);
}

export interface ResumeTokenResponse__Output {
  /**
   * "" when the filesystem has no interrupted receive or the driver cannot resume (zfs-fuse, dir, btrfs)
   */
  'token'?: (string);
}
