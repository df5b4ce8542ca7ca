/** Every form of endpoint, for help texts: the form and what it names (a module of its own: `ferry --help` loads no driver). */
export const ENDPOINT_FORMS: ReadonlyArray<{ form: string; names: string }> = [
  { form: 'dir:/abs/path', names: 'plain directories: each child directory is a filesystem' },
  { form: 'zfs:pool/dataset', names: 'a ZFS dataset: its descendants are the filesystems' },
  { form: 'btrfs:/abs/path', names: 'btrfs: each subvolume directly under the path is a filesystem' },
  { form: 'grpc://HOST:PORT/<endpoint>', names: 'one of those, served by `ferry agent` on another host' },
  { form: 'grpcs://HOST:PORT/<endpoint>', names: 'the same over TLS' },
];
