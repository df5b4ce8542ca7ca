import { createHash } from 'node:crypto';
import type { ReplicateStepInput } from '../../machines/filesystem.js';

/**
 * Names of what a step leaves on zfs: the hold tag of a step in flight and the bookmark that
 * follows each receiver (docs/zfs-driver.md, "Holds and bookmark cursors").
 */

/** A short stable id of `text` for hold tags and bookmark names (zfs limits their length). */
const shortId = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** The hold tag of one step: the same for every attempt of it, so a retry finds (and releases) its own. */
export const stepHoldTag = (input: Pick<ReplicateStepInput, 'runId' | 'filesystem' | 'index'>) => `ferry-step-${shortId(`${input.runId}/${input.filesystem}/${input.index}`)}`;

/** The bookmark that follows what one receiver has received (one per receiver per filesystem on the sender). */
export const cursorName = (receiver: string) => `ferry-cursor-${shortId(receiver)}`;
