/**
 * The figures a chaos run counts. Scenarios add to them; the runner prints them as a table with
 * their targets and as one JSON line. docs/chaos.md explains each one.
 */

/** Figures that must be 0: any other value makes the run fail (exit status 1). */
export const MUST_BE_ZERO = {
  runsLostOrStuck: 'started runs that did not reach a final state (Completed/PermanentError) within the bound after the faults stopped',
  completedButDifferent: 'runs that ended Completed with a receiver tree that differs from the sender snapshot (byte for byte, modes, links)',
  duplicateTransitions: '(machine id, version) pairs found more than once in the transition log',
  processCrashes: 'ferry processes that died without being killed by the chaos run (or one-shot commands that exited with status 3 or on a signal)',
  callsWithoutAnswer: 'gRPC calls that got no answer (status or message) within their deadline',
  unauthenticatedAccepted: 'gRPC calls without a token or with a wrong one that were not refused with UNAUTHENTICATED',
  filesOutsideAllowList: 'files created, changed or removed outside the agent\'s --allow directories by the fuzzed calls',
  tornReceivers: 'receivers left showing a tree that is neither the previous version nor the complete new one after a failed receive',
  transitionsTakenBack: 'runs whose end the reader saw confirmed on a replica (as `ferry watch` would), which a failover then took back (failover scenario)',
  archiveObjectsWrong: 'archived objects whose bytes (or checksum file) differ from the sha256 of the log entry they archive',
  archiveObjectsMissing: 'entries committed in a log source that were not in the sink within the bound after the faults stopped',
  redisNodesNotRejoined: 'Redis data nodes (failover scenario) not back as a replica of the primary within the bound after the faults stopped',
} as const;

export type MustBeZero = keyof typeof MUST_BE_ZERO;

/** Figures that describe how much was done (no target). */
export const INFORMATIONAL = {
  runsStarted: 'replication runs (job invocations) started',
  runsCompleted: 'runs that ended Completed',
  runsFailed: 'runs that ended PermanentError (a clean, final failure)',
  treesCompared: 'receiver filesystems compared byte for byte with the sender',
  workerKills: 'ferry worker processes SIGKILLed while runs were in flight',
  repeatedKills: 'SIGKILLs of the worker holding the same step (repeated-kill scenario)',
  commitPointKills: 'workers killed by strace fault injection at a syscall of the dir receive',
  redisKills: 'redis-server SIGKILLs (restarted on the same port and AOF directory)',
  failovers: 'Sentinel failovers: the primary SIGKILLed (then started again, to come back as a replica) or paused with SIGSTOP',
  primaryPauses: 'primaries paused with SIGSTOP until failed over, then resumed (their lone writes must not be trusted)',
  archiveObjectsVerified: 'archived objects read back from the sink and compared with their log entry by sha256',
  failoverToCommitMsMax: 'the longest time from a new primary being named to the next transition committed on it, in milliseconds',
  rpcCalls: 'gRPC calls made by the fuzzers (valid token)',
  rpcAuthCalls: 'gRPC calls made without a token or with a wrong one',
  rpcRefused: 'fuzzed calls answered with an error status (the expected answer to hostile input)',
  shutdownHangs: 'ferry processes that did not exit within 15 s of SIGTERM (then SIGKILLed)',
  tmpfsRuns: 'runs into a receiver on a small tmpfs',
  scenariosSkipped: 'scenarios (or parts) not run here, with the reason printed',
} as const;

export type Informational = keyof typeof INFORMATIONAL;
export type FigureName = MustBeZero | Informational;

/** Evidence kept per figure (the first few cases), to say what went wrong. */
const EVIDENCE_KEPT = 12;

export class Figures {
  readonly values: Record<FigureName, number>;
  readonly evidence: Partial<Record<FigureName, string[]>> = {};

  constructor() {
    const names = [...Object.keys(MUST_BE_ZERO), ...Object.keys(INFORMATIONAL)] as FigureName[];
    this.values = Object.fromEntries(names.map((n) => [n, 0])) as Record<FigureName, number>;
  }

  add(name: FigureName, n = 1, evidence?: string): void {
    this.values[name] += n;
    if (evidence !== undefined) {
      const list = (this.evidence[name] ??= []);
      if (list.length < EVIDENCE_KEPT) list.push(evidence.length > 600 ? `${evidence.slice(0, 600)}…` : evidence);
    }
  }

  get ok(): boolean {
    return (Object.keys(MUST_BE_ZERO) as MustBeZero[]).every((n) => this.values[n] === 0);
  }
}
