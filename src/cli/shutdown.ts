/**
 * One stop for the whole `ferry` process. The first SIGINT or SIGTERM, or a stdout whose reader went
 * away (EPIPE: `ferry watch | head`), aborts `stopRequested`: the running command closes what it opened,
 * in order, and ends. A second signal, or a close that takes longer than the bound (Redis gone, a call
 * that never returns), exits at once with one line on stderr. Exit statuses: docs/service.md.
 */

/** the exit status of a stop that had to be forced (second signal, or the bound passed) */
export const EXIT_FORCED = 130;
/** @defaultValue of `--shutdown-timeout-ms` */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

const controller = new AbortController();
/** aborted once, on the first signal or a closed stdout; its reason is the signal name or 'EPIPE' */
export const stopRequested: AbortSignal = controller.signal;

let installed = false;
let boundMs = DEFAULT_SHUTDOWN_TIMEOUT_MS;

/** Whether the stop came from stdout's reader going away: the command then ends quietly with status 0. */
export function stoppedByClosedStdout(): boolean {
  return stopRequested.aborted && stopRequested.reason === 'EPIPE';
}

/** Listens for SIGINT, SIGTERM and EPIPE on stdout; once per process (later calls change only the bound). */
export function installShutdown(opts: { timeoutMs?: number } = {}): void {
  boundMs = opts.timeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  if (installed) return;
  installed = true;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.on('error', onStdoutError);
}

function onSignal(sig: NodeJS.Signals): void {
  if (stopRequested.aborted) {
    process.stderr.write(`ferry: ${sig} again: exiting without waiting for the stop to finish\n`);
    process.exit(EXIT_FORCED);
  }
  request(sig);
}

function onStdoutError(err: NodeJS.ErrnoException): void {
  // the reader is gone (EPIPE), and so is every later write (ERR_STREAM_DESTROYED): nothing to print, nothing to report
  if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
    if (!stopRequested.aborted) request('EPIPE');
    return;
  }
  process.stderr.write(`ferry: stdout: ${err.message}\n`);
  process.exit(3);
}

function request(why: string): void {
  controller.abort(why);
  const quietly = why === 'EPIPE';
  if (quietly) process.exitCode = 0;
  // unref: a stop that finishes in time exits by itself, with the command's status
  setTimeout(() => {
    process.stderr.write(`ferry: not stopped ${boundMs / 1000} s after ${why} (see --shutdown-timeout-ms): exiting anyway\n`);
    process.exit(quietly ? 0 : EXIT_FORCED);
  }, boundMs).unref();
}
