import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReplicateStepInput } from '../../machines/filesystem.js';
import { startAgent, type Agent } from '../../src/api/agent-server.js';
import { closeRemoteClients } from '../../src/grpc/endpoint-channels.js';
import type { EffectContext } from '../../src/engine/types.js';
import { TemporaryError, type FerryError } from '../../src/errors/index.js';
import { createLogger } from '../../src/util/logger.js';
import { FerryMetrics } from '../../src/observability/metrics.js';
import { replicateStep } from '../../src/replication/step-runner.js';
import type { Version } from '../../src/storage/driver.js';
import { localTransferCount } from '../../src/storage/local-pipe.js';
import { createZfsDriver, zfsFeatures, type ZfsDriver } from '../../src/storage/zfs/index.js';
import { cutAfter, retryWhileBusy, ZfsLab, zfsUnavailable, type TestPool } from '../helpers/zfs.js';
import { noise } from '../helpers/noise.js';

/**
 * Resumable receive and dry-run sizes: OpenZFS only, so these run in the OpenZFS VM
 * (test/openzfs-vm.test.ts runs every test/openzfs/*.test.ts there). On a zfs without them they
 * fail rather than skip: they have nothing to test there.
 */

const MiB = 1024 * 1024;
const TOKEN = 'openzfs-resume-test-token-0123456789';

describe('OpenZFS: interrupted steps resume (receive -s, send -t); sizes from dry runs (send -nP)', () => {
  const reason = zfsUnavailable();
  let lab: ZfsLab;
  let p1: TestPool;
  let p2: TestPool;
  const agents: Agent[] = [];
  let tokenDir: string;
  let seq = 0;

  before(async () => {
    assert.equal(reason, null, `zfs is needed: ${reason}`);
    const f = zfsFeatures();
    assert.ok(Object.values(f).every((v) => v === true), `kernel OpenZFS with every feature (these tests run in the OpenZFS VM): ${JSON.stringify(f)}`);
    lab = new ZfsLab();
    await lab.start();
    p1 = await lab.createPool(1536);
    p2 = await lab.createPool(1536);
    tokenDir = mkdtempSync(join(tmpdir(), 'ferry-openzfs-token-'));
    writeFileSync(join(tokenDir, 'token'), TOKEN);
    process.env.FERRY_TOKEN_FILE = join(tokenDir, 'token');
  });
  after(async () => {
    for (const a of agents) await a.close();
    closeRemoteClients();
    await lab?.stop();
    if (tokenDir) rmSync(tokenDir, { recursive: true, force: true });
  });

  async function setup(tag: string, mib: number): Promise<{ sroot: string; rroot: string; sender: ZfsDriver; receiver: ZfsDriver }> {
    const n = ++seq;
    const sroot = `${p1.name}/${tag}${n}`;
    const rroot = `${p2.name}/${tag}${n}`;
    await lab.zfs(['create', sroot]);
    await lab.zfs(['create', `${sroot}/a`]);
    await lab.zfs(['create', rroot]);
    // incompressible, so the stream is as big as the data
    await lab.write(`${sroot}/a`, { 'one.txt': 'one\n', 'big.bin': noise(mib * MiB) });
    return { sroot, rroot, sender: createZfsDriver(sroot), receiver: createZfsDriver(rroot) };
  }

  /** `rroot` served by an in-process agent: the step then streams through gRPC, not the local pipe */
  async function viaAgent(rroot: string): Promise<string> {
    const a = await startAgent({ endpoints: [`zfs:${rroot}`], token: TOKEN, host: '127.0.0.1', port: 0, log: createLogger({ level: 'silent' }) });
    agents.push(a);
    return `grpc://127.0.0.1:${a.port}/zfs:${rroot}`;
  }

  function stepInput(sender: string, receiver: string, from: Version | null, to: Version): ReplicateStepInput {
    return { sender, receiver, filesystem: 'a', step: { from, to }, index: 0, total: 1 } as unknown as ReplicateStepInput;
  }

  function stepContext(signal = new AbortController().signal): EffectContext & { totals: (number | undefined)[] } {
    const totals: (number | undefined)[] = [];
    return {
      machineId: 'm', childId: 'c', attempt: 1, signal, log: createLogger({ level: 'silent' }), totals,
      progress: (p: { total?: number }) => { totals.push(p.total); },
    } as unknown as EffectContext & { totals: (number | undefined)[] };
  }

  /** waits until the receiver shows a resume token for `a` (a killed receive saves it as it exits) */
  async function tokenOf(receiver: ZfsDriver): Promise<string> {
    for (let i = 0; i < 100; i++) {
      const token = await receiver.resumeToken('a');
      if (token) return token;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`no receive_resume_token on ${receiver.root}/a`);
  }

  it('send() estimates the stream size with a dry run (zfs send -nP), full and incremental, and the step reports it as the total', async () => {
    const { sroot, rroot, sender } = await setup('size', 24);
    const [v1] = await sender.snapshot(['a'], 's1');
    const full = await sender.send('a', null, v1);
    let bytes = 0;
    for await (const chunk of full.stream) bytes += (chunk as Buffer).length;
    assert.ok(full.sizeEstimate !== undefined, 'a full send has an estimate');
    assert.ok(Math.abs(full.sizeEstimate - bytes) / bytes < 0.02, `estimate ${full.sizeEstimate} vs ${bytes} bytes sent`);

    await lab.write(`${sroot}/a`, { 'more.bin': noise(8 * MiB) });
    const [v2] = await sender.snapshot(['a'], 's2');
    const inc = await sender.send('a', v1, v2);
    let incBytes = 0;
    for await (const chunk of inc.stream) incBytes += (chunk as Buffer).length;
    assert.ok(inc.sizeEstimate !== undefined && Math.abs(inc.sizeEstimate - incBytes) / incBytes < 0.02, `incremental estimate ${inc.sizeEstimate} vs ${incBytes}`);

    // through the generic path (an agent), the step's progress carries the estimate as its total
    const ctx = stepContext();
    const out = await replicateStep(stepInput(`zfs:${sroot}`, await viaAgent(rroot), null, v1), ctx, new FerryMetrics());
    assert.equal(out.bytes, bytes);
    assert.ok(ctx.totals.some((t) => t !== undefined && Math.abs(t - bytes) / bytes < 0.02), `progress totals: ${JSON.stringify(ctx.totals.slice(0, 3))}`);
  });

  it('a full receive cut halfway keeps a resume token; the retried step (sender local, receiver an agent) sends only the rest', async () => {
    const { sroot, rroot, sender, receiver } = await setup('gen', 48);
    const [v1] = await sender.snapshot(['a'], 's1');
    const whole = await sender.send('a', null, v1);
    const size = whole.sizeEstimate!;
    const cut = whole.stream.pipe(cutAfter(24 * MiB, (t) => t.destroy(new Error('connection lost'))));
    await assert.rejects(receiver.receive('a', cut), (e: unknown) => e instanceof TemporaryError && /connection lost/.test((e as Error).message));
    whole.stream.destroy();
    await tokenOf(receiver);
    assert.deepEqual(await receiver.listVersions('a'), [], 'nothing complete arrived yet');

    const remote = await viaAgent(rroot);
    const out = await retryWhileBusy(() => replicateStep(stepInput(`zfs:${sroot}`, remote, null, v1), stepContext(), new FerryMetrics()));
    assert.ok(out.bytes > 0 && out.bytes < size - 16 * MiB, `resumed: ${out.bytes} of ${size} bytes sent again`);
    assert.deepEqual((await receiver.listVersions('a')).map((v) => v.guid), [v1.guid]);
    assert.equal(await receiver.resumeToken('a'), null);
    assert.deepEqual(await lab.snapshotFiles(`${rroot}/a@s1`), await lab.snapshotFiles(`${sroot}/a@s1`));
  });

  it('an incremental fast-path step aborted halfway (as the watchdog does) resumes on retry; same data, no token left', async () => {
    const { sroot, rroot, sender, receiver } = await setup('fast', 1);
    const [v1] = await sender.snapshot(['a'], 's1');
    const first = await replicateStep(stepInput(`zfs:${sroot}`, `zfs:${rroot}`, null, v1), stepContext(), new FerryMetrics());
    assert.ok(first.bytes > MiB);
    // the VM's disk writes at 64 MiB/s (test/helpers/openzfs-vm.ts): a few seconds of streaming
    await lab.write(`${sroot}/a`, { 'more.bin': noise(192 * MiB) });
    const [, v2] = await sender.snapshot(['a'], 's2').then(async () => sender.listVersions('a'));

    const ac = new AbortController();
    const ctx = stepContext(ac.signal);
    let seen = 0;
    (ctx as unknown as { progress: (p: { bytes: number }) => void }).progress = (p) => {
      seen = p.bytes;
      if (p.bytes >= 16 * MiB) ac.abort(new Error('watchdog: no progress'));
    };
    const n = localTransferCount();
    await assert.rejects(replicateStep(stepInput(`zfs:${sroot}`, `zfs:${rroot}`, v1, v2), ctx, new FerryMetrics()), (e: unknown) => (e as FerryError).code === 'ABORTED');
    assert.equal(localTransferCount() - n, 1, 'the step took the local fast path');
    assert.ok(seen >= 16 * MiB, `aborted after ${seen} bytes`);
    await tokenOf(receiver);
    assert.deepEqual((await receiver.listVersions('a')).map((v) => v.guid), [v1.guid], 'the receiver still ends at s1');

    const retryCtx = stepContext();
    const retry = await retryWhileBusy(() => replicateStep(stepInput(`zfs:${sroot}`, `zfs:${rroot}`, v1, v2), retryCtx, new FerryMetrics()));
    assert.ok(retry.bytes > 0 && retry.bytes < 192 * MiB - 8 * MiB, `resumed: ${retry.bytes} bytes sent again`);
    // the fast path's progress carries the dry run's size of what is left (percentage and ETA)
    const total = retryCtx.totals.find((t) => t !== undefined);
    assert.ok(total !== undefined && Math.abs(total - retry.bytes) / retry.bytes < 0.02, `progress total ${total} vs ${retry.bytes} bytes sent`);
    assert.deepEqual((await receiver.listVersions('a')).map((v) => v.guid), [v1.guid, v2.guid]);
    assert.equal(await receiver.resumeToken('a'), null);
    assert.deepEqual(await lab.snapshotFiles(`${rroot}/a@s2`), await lab.snapshotFiles(`${sroot}/a@s2`));
  });

  it('a token of another step, or of a snapshot the sender destroyed, is dropped (receive -A) and the step sends afresh', async () => {
    const { sroot, rroot, sender, receiver } = await setup('drop', 16);
    const [v1] = await sender.snapshot(['a'], 's1');
    const interrupt = async (to: Version) => {
      const s = await sender.send('a', null, to);
      await assert.rejects(receiver.receive('a', s.stream.pipe(cutAfter(8 * MiB, (t) => t.destroy(new Error('cut'))))));
      s.stream.destroy();
      return tokenOf(receiver);
    };
    await interrupt(v1);
    await lab.write(`${sroot}/a`, { 'two.bin': noise(MiB) });
    const [, v2] = await sender.snapshot(['a'], 's2').then(async () => sender.listVersions('a'));

    // the partial receive is of s1; the step is the full stream of s2: RESUME_MISMATCH, sent afresh
    const other = await retryWhileBusy(() => replicateStep(stepInput(`zfs:${sroot}`, `zfs:${rroot}`, null, v2), stepContext(), new FerryMetrics()));
    assert.ok(other.bytes > 16 * MiB, `sent afresh: ${other.bytes}`);
    assert.deepEqual((await receiver.listVersions('a')).map((v) => v.guid), [v2.guid]);
    assert.equal(await receiver.resumeToken('a'), null);

    // a partial incremental receive of s3 whose snapshot is then destroyed on the sender: RESUME_STALE
    await lab.write(`${sroot}/a`, { 'three.bin': noise(16 * MiB) });
    const [v3] = await sender.snapshot(['a'], 's3');
    const s = await sender.send('a', v2, v3);
    await assert.rejects(receiver.receive('a', s.stream.pipe(cutAfter(8 * MiB, (t) => t.destroy(new Error('cut'))))));
    s.stream.destroy();
    await tokenOf(receiver);
    await sender.destroySnapshot('a', 's3');
    const [v4] = await sender.snapshot(['a'], 's4');
    const stale = await retryWhileBusy(() => replicateStep(stepInput(`zfs:${sroot}`, `zfs:${rroot}`, v2, v4), stepContext(), new FerryMetrics()));
    assert.ok(stale.bytes > 16 * MiB, `sent afresh: ${stale.bytes}`);
    assert.deepEqual((await receiver.listVersions('a')).map((v) => v.name), ['s2', 's4']);
    assert.equal(await receiver.resumeToken('a'), null);
    assert.deepEqual(await lab.snapshotFiles(`${rroot}/a@s4`), await lab.snapshotFiles(`${sroot}/a@s4`));
  });
});
