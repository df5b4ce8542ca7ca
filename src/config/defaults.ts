import { DEFAULT_BACKOFF } from '../../machines/backoff.js';

/**
 * An archive's rescan interval and backoff when the file leaves them out (as `ferry archive`): a
 * module of its own so that the CLI's option defaults load nothing else of the config.
 */
export const ARCHIVE_DEFAULTS = { intervalMs: 5_000, retry: DEFAULT_BACKOFF } as const;
