import { logNameProblem } from '../../archiver/log-source/names.js';
import { InvalidArgumentError } from '../../errors/index.js';
import type { PartitionSelector } from '../../service/views.js';
import type { GlobalOptions } from '../app.js';
import { withOrchestrator, type ServerOptions } from '../orchestrator-access.js';

export interface ArchiveResetOptions extends ServerOptions {
  consumer?: string;
  sink?: string;
  log?: string;
  json?: boolean;
}

/** `STORAGE/PARTITION` as `ferry archive reset` takes it (InvalidArgumentError naming the argument). */
export function partitionArgument(text: string | undefined): { storage: string; partition: string } {
  const [storage, partition, ...rest] = (text ?? '').split('/');
  const problem = !text ? 'is required' : rest.length || partition === undefined ? 'must be STORAGE/PARTITION'
    : logNameProblem(storage) ?? logNameProblem(partition);
  if (problem) {
    throw new InvalidArgumentError(`archive reset STORAGE/PARTITION: ${text ? JSON.stringify(text) : 'the partition'} ${problem} (e.g. \`ferry archive reset main/p1\`; \`ferry archive status\` lists them)`, { code: 'INVALID_ARGUMENT' });
  }
  return { storage, partition };
}

/**
 * `ferry archive reset STORAGE/PARTITION`: after a person fixed what failed a partition's archiver
 * (CHECKSUM_MISMATCH: removed the wrong object from the sink), resumes it from the LSN it failed on.
 * `--consumer`, `--sink` and `--log` pick the archiver when several archive the partition.
 * Locally over Redis, or with --server over the Orchestrator's ResetPartition. Returns the exit status.
 */
export async function archiveReset(g: GlobalOptions, spec: string | undefined, o: ArchiveResetOptions, print: (line: string) => void): Promise<number> {
  const sel: PartitionSelector = { ...partitionArgument(spec), consumer: o.consumer, sink: o.sink, log: o.log };
  return withOrchestrator(g, o, async (api) => {
    const r = await api.resetPartition(sel);
    print(o.json ? JSON.stringify(r) : `reset ${sel.storage}/${sel.partition} (${r.id}): it resumes from the LSN it failed on, which was: ${r.problem}`);
    return 0;
  });
}
