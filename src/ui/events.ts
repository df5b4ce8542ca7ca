import type { IncomingMessage, ServerResponse } from 'node:http';
import { watchFilterField } from '../api/request-fields.js';
import type { Orchestrator } from '../service/views.js';

/** a comment line now and then, so proxies and the browser keep an idle stream open */
const HEARTBEAT_MS = 15_000;

/**
 * GET /api/events: the transition log as Server-Sent Events, one `transition` event per entry with
 * the log's stream id as its `id`. Where it starts, as WatchTransitions: after the `Last-Event-ID`
 * header (what a browser's EventSource sends when it reconnects), else after `?after=` ("0": the
 * oldest kept), else from now. `?kind=` and `?machine=` (repeatable) filter as WatchTransitions does.
 */
export async function streamTransitions(req: IncomingMessage, res: ServerResponse, url: URL, orchestrator: Orchestrator): Promise<void> {
  const lastEventId = req.headers['last-event-id'];
  const resumeAt = typeof lastEventId === 'string' && lastEventId ? { value: lastEventId, name: 'Last-Event-ID' } : { value: url.searchParams.get('after'), name: 'after' };
  // bad input throws before the stream starts: the server answers 400 naming the field
  const filter = watchFilterField(
    { afterId: resumeAt.value, kinds: url.searchParams.getAll('kind'), machineIds: url.searchParams.getAll('machine') },
    { afterId: resumeAt.name, kinds: 'kind', machineIds: 'machine' },
  );
  const stop = new AbortController();
  req.once('close', () => stop.abort());
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  // the browser reconnects a second after a lost connection, sending the last id it saw
  res.write('retry: 1000\n\n');
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  try {
    await orchestrator.watchTransitions(filter, (e) => {
      res.write(`id: ${e.id}\nevent: transition\ndata: ${JSON.stringify(e)}\n\n`);
    }, stop.signal);
  } catch (err) {
    // the browser reconnects after the last id it saw
    if (!stop.signal.aborted) res.write(`event: problem\ndata: ${JSON.stringify({ error: (err as Error).message })}\n\n`);
  } finally {
    clearInterval(heartbeat);
  }
  res.end();
}
