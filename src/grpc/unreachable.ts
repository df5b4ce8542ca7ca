import { FerryError } from '../errors/index.js';

/**
 * Whether a remote call failed because its agent could not be reached (refused or lost connection,
 * no answer before the deadline), as opposed to an answer of the agent: what makes a target unhealthy.
 * Apart from the gRPC stack (fromStatus sets the mark): the health gate of local runs asks it too.
 */
export function isUnreachable(err: unknown): err is FerryError {
  return err instanceof FerryError && err.details.unreachable === true;
}
