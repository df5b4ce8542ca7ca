// Original file: proto/ferry/v1/endpoint.proto


export interface DescribeReceiverResponse {
  /**
   * btrfs: the newest send stream protocol this endpoint's btrfs receive reads (1, or 2 with
   * btrfs-progs 6.0 on Linux 6.0 or later); 0 for other kinds
   */
  'btrfsStreamProtocol'?: (number);
}

export interface DescribeReceiverResponse__Output {
  /**
   * btrfs: the newest send stream protocol this endpoint's btrfs receive reads (1, or 2 with
   * btrfs-progs 6.0 on Linux 6.0 or later); 0 for other kinds
   */
  'btrfsStreamProtocol'?: (number);
}
