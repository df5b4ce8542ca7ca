import { InvalidArgumentError } from '../errors/index.js';

/** NOT_FOUND: what was asked for (a run, a job) does not exist. */
export const notFound = (what: string) => new InvalidArgumentError(what, { code: 'NOT_FOUND' });

/** NOT_FOUND for a job name nothing is stored under. */
export const noSuchJob = (name: string) => notFound(`no job named ${JSON.stringify(name)}; see \`ferry job list\``);
