/**
 * One expensive read (an endpoint's listing) shared by the callers that need an answer begun after
 * a point of their own: `mark()` names that point (a lock taken, a process exited), and `get()`
 * joins a read of the same key that began after it, or starts one on the next turn of the event
 * loop, so that every caller asking in the same moment shares it. A read that began before a
 * caller's mark is never shared with that caller: it could miss what happened since.
 *
 * Why: a btrfs listing is a process, and a fork costs Node 1–2 ms of CPU; eight steps at once
 * each listing both endpoints spent a third of a 40-filesystem run's CPU forking.
 */
export class FreshShare<T> {
  private clock = 0;
  private readonly flights = new Map<string, Array<{ began: number; result: Promise<T> }>>();

  /** A point in this share's order: reads that begin later are fresh for it. */
  mark(): number {
    return ++this.clock;
  }

  /**
   * `read()`'s answer for `key`, from a read that began after `mark`. A failed read fails every
   * caller that shared it. `signal` ends only this caller's wait, never the shared read.
   */
  get(key: string, mark: number, read: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    signal?.throwIfAborted();
    const flights = this.flights.get(key) ?? [];
    // a read not begun yet (began Infinity) begins after every mark taken so far
    let flight = flights.find((f) => f.began > mark);
    if (!flight) {
      const f = { began: Infinity, result: undefined as unknown as Promise<T> };
      f.result = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => {
          f.began = ++this.clock;
          return read();
        })
        .finally(() => {
          const rest = (this.flights.get(key) ?? []).filter((x) => x !== f);
          if (rest.length) this.flights.set(key, rest);
          else this.flights.delete(key);
        });
      f.result.catch(() => undefined); // each caller gets the failure through its own promise
      flights.push(f);
      this.flights.set(key, flights);
      flight = f;
    }
    return signal ? untilAborted(flight.result, signal) : flight.result;
  }

  /** reads in flight (tests) */
  inFlight(key: string): number {
    return this.flights.get(key)?.length ?? 0;
  }
}

function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
