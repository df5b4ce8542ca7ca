import { Readable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { TemporaryError, invalidField } from '../errors/index.js';
import type { ReceiveRequest__Output } from '../grpc/generated/ferry/v1/ReceiveRequest.js';
import type { ReceiveResponse } from '../grpc/generated/ferry/v1/ReceiveResponse.js';
import { DEFAULT_PROGRESS_TIMEOUT_MS, withinProgress } from '../grpc/progress.js';
import type { ServerKit } from '../grpc/server-kit.js';
import type { StorageDriver } from '../storage/driver.js';
import { versionToMsg } from '../storage/remote/version-message.js';
import { filesystemField } from './request-fields.js';

/**
 * The agent's Receive: a client stream of one header {endpoint, filesystem}, then chunks, applied
 * by the endpoint's driver. Whatever the client does (bytes that do not decode, a second header,
 * data first, a cancel, silence) the driver's stream fails or ends at once, so the driver cleans up
 * and lets go of its lock, and the call gets one bounded answer (none when the client cancelled).
 */

/** How long a Receive waits for the client's next message before it gives up (the client's own progress timeout is shorter). */
export const RECEIVE_IDLE_MS = 2 * DEFAULT_PROGRESS_TIMEOUT_MS;

type Message = IteratorResult<ReceiveRequest__Output>;

/**
 * The chunks after the header as a Readable pulled as the driver reads (gRPC flow control pushes
 * back on the client). Not Readable.from over an async generator: destroying that waits for the
 * generator's pending await, here a message that may never come, and the driver would wait with it.
 */
function chunkStream(next: () => Promise<Message>, secondHeader: () => Error): Readable {
  let pulling = false;
  const data: Readable = new Readable({
    read() {
      if (pulling) return;
      pulling = true;
      const pull = (): void => {
        next().then((r) => {
          if (data.destroyed) return;
          if (r.done) return void data.push(null);
          if (r.value.header) return void data.destroy(secondHeader());
          if (!r.value.chunk?.length) return pull();
          pulling = false;
          data.push(r.value.chunk);
        }, (err: Error) => data.destroy(err));
      };
      pull();
    },
  });
  // the driver sees the error where it reads; until it reads (waiting for its lock, say), an error
  // with no listener would crash the agent
  data.on('error', () => {});
  return data;
}

export function receiveHandler(o: {
  kit: Pick<ServerKit, 'authorize' | 'fail'>;
  driverFor: (value: unknown, field: string) => StorageDriver;
  idleMs?: number;
}): grpc.handleClientStreamingCall<ReceiveRequest__Output, ReceiveResponse> {
  const idleMs = o.idleMs ?? RECEIVE_IDLE_MS;
  return (call, cb) => {
    const ac = new AbortController();
    // a cancelled call takes no answer; any other gets exactly one
    let answered = false;
    call.on('cancelled', () => {
      answered = true;
      ac.abort(new TemporaryError('the client cancelled the receive', { code: 'CANCELLED' }));
    });
    // the client's own fault found mid-stream (a second header, silence): the answer, whatever the driver made of it
    let refusal: Error | null = null;
    const messages = call[Symbol.asyncIterator]() as AsyncIterator<ReceiveRequest__Output>;
    const next = (waitingFor: string) => withinProgress(messages.next(), idleMs, () => (refusal = new TemporaryError(
      `receive: the client sent nothing for ${idleMs / 1000} s (waiting for ${waitingFor}): the receive was aborted`, { code: 'DEADLINE_EXCEEDED' },
    )), (err) => ac.abort(err));

    (async (): Promise<ReceiveResponse> => {
      o.kit.authorize(call.metadata);
      const first = await next('the header');
      const header = first.done ? null : first.value.header;
      if (!header) throw invalidField('header', 'the first message must be a header {endpoint, filesystem}');
      const d = o.driverFor(header.endpoint, 'header.endpoint');
      const fs = filesystemField(d.kind, header.filesystem, 'header.filesystem', { allowRoot: true });
      const data = chunkStream(() => next('the next chunk'), () => (refusal = invalidField('header', 'only the first message may be a header')));
      const onAbort = () => data.destroy(ac.signal.reason as Error);
      ac.signal.addEventListener('abort', onAbort, { once: true });
      if (ac.signal.aborted) onAbort();
      try {
        const overrides = { receiveSet: header.receiveSet ?? [], receiveExclude: header.receiveExclude ?? [] };
        if ((overrides.receiveSet.length || overrides.receiveExclude.length) && d.kind !== 'zfs') {
          throw invalidField('header.receive_set', `zfs receive -o/-x: a ${d.kind} endpoint cannot honour them`);
        }
        const v = await d.receive(fs, data, { signal: ac.signal, overrides });
        if (refusal) throw refusal;
        return { version: versionToMsg(v) };
      } finally {
        ac.signal.removeEventListener('abort', onAbort);
        data.destroy();
      }
    })().then((res) => {
      if (!answered) { answered = true; cb(null, res); }
    }, (err: unknown) => {
      if (!answered) { answered = true; cb(o.kit.fail('Receive', refusal ?? err)); }
    });
  };
}
