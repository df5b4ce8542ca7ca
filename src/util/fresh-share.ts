/**
 * One expensive read (an endpoint's listing) shared by the callers that need an answer begun after
 * a point of their own: `mark()` names that point (a lock taken, a process exited), and `get()`
 * joins the read of the same key in flight when it began after that point. Otherwise it joins the
 * next read, which begins once the one in flight has ended (or on the next turn of the event loop
 * when none is): at most one read per key runs and one waits, and every caller asking meanwhile
 * shares the waiting one. A read that began before a caller's mark is never shared with that
 * caller: it could miss what happened since.
 *
 * Why: a btrfs listing is a process, and a fork costs Node 1–2 ms of CPU; eight steps at once
 * each listing both endpoints spent a third of a 40-filesystem run's CPU forking.
 */
export class FreshShare<T> {
  /** @param keepMs how long an ended read stays available to recent() (its callers' maxAgeMs at most) */
  constructor(private readonly keepMs = 5000) {}

  private clock = 0;
  private readonly keys = new Map<string, { running: Flight<T> | null; waiting: Flight<T> | null }>();
  /** each key's newest read that ended well, with the time it began */
  private readonly last = new Map<string, { at: number; value: T }>();
  /** the clock at each key's last forget(): reads begun before it are not reused by recent() */
  private readonly forgotten = new Map<string, number>();

  /** A point in this share's order: reads that begin later are fresh for it. */
  mark(): number {
    return ++this.clock;
  }

  /** Forget what recent() would reuse for `key` (the caller changed what is read). */
  forget(key: string): void {
    this.last.delete(key);
    this.forgotten.set(key, this.mark());
  }

  /**
   * `read()`'s answer for `key`, from a read that began after `mark`. A failed read fails every
   * caller that shared it. `signal` ends only this caller's wait, never the shared read.
   */
  get(key: string, mark: number, read: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    let state = this.keys.get(key);
    if (!state) this.keys.set(key, (state = { running: null, waiting: null }));
    const s = state;
    let flight: Flight<T>;
    if (s.running && s.running.began > mark) flight = s.running;
    else if (s.waiting) flight = s.waiting; // not begun: it begins after every mark taken so far
    else {
      const f: Flight<T> = { began: Infinity, result: undefined as unknown as Promise<T> };
      const turn = s.running ? s.running.result.then(() => undefined, () => undefined) : new Promise<void>((resolve) => setImmediate(resolve));
      f.result = turn
        .then(() => {
          s.waiting = null;
          s.running = f;
          f.began = ++this.clock;
          f.startedAt = Date.now();
          return read();
        })
        .then((value) => {
          const newest = this.last.get(key);
          if ((!newest || newest.at <= f.startedAt!) && f.began > (this.forgotten.get(key) ?? 0)) {
            const entry = { at: f.startedAt!, value };
            this.last.set(key, entry);
            // kept only as long as recent() callers may take it: a listing can be large
            setTimeout(() => {
              if (this.last.get(key) === entry) this.last.delete(key);
            }, this.keepMs).unref();
          }
          return value;
        })
        .finally(() => {
          if (s.running === f) s.running = null;
          if (!s.running && !s.waiting) this.keys.delete(key);
        });
      f.result.catch(() => undefined); // each caller gets the failure through its own promise
      s.waiting = f;
      flight = f;
    }
    return signal ? untilAborted(flight.result, signal) : flight.result;
  }

  /**
   * `read()`'s answer for `key` from a read begun at most `maxAgeMs` ago: the last one that ended
   * well, or the one running, else a new one (shared as get() shares). For callers that check
   * what they act on by other means and only need a recent picture.
   */
  recent(key: string, maxAgeMs: number, read: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    const now = Date.now();
    const last = this.last.get(key);
    if (last && now - last.at <= maxAgeMs) return Promise.resolve(last.value);
    const s = this.keys.get(key);
    if (s?.running && s.running.startedAt !== undefined && now - s.running.startedAt <= maxAgeMs && s.running.began > (this.forgotten.get(key) ?? 0)) {
      return signal ? untilAborted(s.running.result, signal) : s.running.result;
    }
    return this.get(key, this.mark(), read, signal);
  }

  /** reads running or waiting to (tests) */
  inFlight(key: string): number {
    const s = this.keys.get(key);
    return (s?.running ? 1 : 0) + (s?.waiting ? 1 : 0);
  }
}

interface Flight<T> {
  /** the clock when the read began; Infinity while it waits */
  began: number;
  /** Date.now() when it began */
  startedAt?: number;
  result: Promise<T>;
}

function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
