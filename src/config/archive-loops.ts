import type { ArchiverMetrics } from '../archiver/metrics.js';
import { removeSinkOrphans, scanAndNotify } from '../archiver/coordinator.js';
import { openLogSource } from '../archiver/open-log-source.js';
import type { Engine } from '../engine/engine.js';
import type { Logger } from '../util/logger.js';
import type { DesiredArchive } from './check.js';

/** The archives of a config file, running in `ferry serve --config`. */
export interface ArchiveLoops {
  /** stops the loops of archives no longer given, starts the new ones, restarts the changed ones */
  replace(archives: DesiredArchive[]): void;
  stop(): Promise<void>;
}

interface Loop {
  spec: string;
  stop: AbortController;
  done: Promise<void>;
}

/**
 * Runs each archive as `ferry archive` does without --once: removes the sink's orphaned temp files
 * once, then scans the log source every interval and notifies the partition machines; the
 * engine's workers (in any process) do the uploads. A failed scan is logged and tried again at the
 * next interval.
 */
export function startArchiveLoops(deps: { engine: Engine; metrics?: ArchiverMetrics; log: Logger }): ArchiveLoops {
  const loops = new Map<string, Loop>();

  function start(a: DesiredArchive): Loop {
    const stop = new AbortController();
    const log = deps.log.child({ archive: a.name });
    const done = (async () => {
      const source = openLogSource(a.log);
      const target = { log: source.root, sink: a.sink, consumer: a.consumer, retry: a.retry };
      let cleaned = false;
      while (!stop.signal.aborted) {
        try {
          if (!cleaned) cleaned = (await removeSinkOrphans(a.sink), true);
          await scanAndNotify(deps.engine, source, target, deps.metrics);
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'archive scan failed; trying again at the next interval');
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, a.intervalMs);
          stop.signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
        });
      }
    })();
    return { spec: JSON.stringify(a), stop, done };
  }

  async function end(name: string): Promise<void> {
    const loop = loops.get(name);
    if (!loop) return;
    loops.delete(name);
    loop.stop.abort();
    await loop.done;
  }

  return {
    replace(archives) {
      const wanted = new Map(archives.map((a) => [a.name, a]));
      for (const [name, loop] of loops) {
        if (wanted.get(name) && JSON.stringify(wanted.get(name)) === loop.spec) wanted.delete(name);
        else void end(name);
      }
      for (const a of wanted.values()) loops.set(a.name, start(a));
    },
    async stop() {
      await Promise.all([...loops.keys()].map(end));
    },
  };
}
