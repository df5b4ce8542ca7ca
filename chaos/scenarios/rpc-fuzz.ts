import * as grpc from '@grpc/grpc-js';
import type { Scenario } from '../scenario.js';
import type { Figures } from '../figures.js';
import { ChaosEnv } from '../env.js';
import { DEADLINE_MS, diffListings, listOutside, randomLike, startTargets, withField, type Auth, type MethodDef, type Outcome, type Target } from './rpc-lab.js';

/**
 * Hostile input on every RPC of a `ferry agent` (one --allow dir, a --log-root) and a
 * `ferry serve --grpc`, with the right token:
 *   1. crafted messages: each field of each method in turn set to path traversals (aimed at a
 *      canary directory next to the allowed one), NUL, huge strings (200 KB), int64 and uint32
 *      edges; Receive fed bad stream sequences (no header, chunk first, two headers, a valid header
 *      then undecodable bytes, a cancel mid-stream);
 *   2. random messages and raw undecodable bytes until the scenario's time is up.
 * Every call must get an answer within 10 s, no process may die, and nothing outside the agent's
 * allowed directory and log root may change.
 * Safety: the servers run in a scratch cwd, crafted paths point into this scenario's temp dir only,
 * and no job it creates has a schedule (docs/chaos.md).
 */

/** calls in flight at once */
const PARALLEL = 8;

export const rpcFuzz: Scenario = {
  name: 'rpc-fuzz',
  title: 'crafted and random messages (traversal, NUL, huge, int64 edges, bad streams) on every RPC',
  share: 0.15,
  async run(ctx) {
    await ChaosEnv.use(ctx, async (env) => {
      const { lab, targets, close } = await startTargets(env);
      const before = listOutside(lab);
      const token: Auth = { kind: 'token', token: env.token };

      // 1. crafted messages, field by field (calls in parallel: a call without an answer costs its whole deadline)
      const crafted: Array<() => Promise<unknown>> = [];
      for (const t of targets) {
        for (const [name, plan] of Object.entries(t.plans)) {
          const m = t.service[name];
          for (const [field, values] of Object.entries(plan.fields)) {
            for (const v of values) crafted.push(() => fuzzCall(ctx, t.target, `${name} ${field}`, m, [withField(plan.base(), field, v)], token));
          }
          for (const seq of plan.sequences?.(m) ?? []) crafted.push(() => fuzzCall(ctx, t.target, `${name} (${seq.what})`, m, seq.messages, token, { cancelAfterWrites: seq.cancel }));
        }
      }
      await inParallel(crafted, PARALLEL);
      ctx.log(`crafted: ${ctx.figures.values.rpcCalls} calls`);

      // 2. random messages and raw bytes until the time is up
      const { rng } = ctx;
      const randomCall = () => {
        const t = rng.pick(targets);
        const name = rng.pick(Object.keys(t.plans));
        const plan = t.plans[name];
        let msg: object | Buffer;
        if (rng.chance(0.3)) msg = rng.bytes(rng.int(1, 2048));
        else {
          msg = plan.base();
          const fields = Object.keys(plan.fields);
          for (let k = rng.int(1, 3); k > 0 && fields.length; k--) {
            const f = rng.pick(fields);
            msg = withField(msg as object, f, rng.chance(0.5) ? rng.pick(plan.fields[f]) : randomLike(rng, plan.fields[f][0]));
          }
        }
        return fuzzCall(ctx, t.target, `${name} (random)`, t.service[name], [msg], token);
      };
      await Promise.all(Array.from({ length: PARALLEL }, async () => {
        do await randomCall(); while (Date.now() < ctx.deadline);
      }));
      ctx.log(`random: ${ctx.figures.values.rpcCalls} calls in all`);

      const after = listOutside(lab);
      const changed = diffListings(before, after);
      if (changed.length) ctx.figures.add('filesOutsideAllowList', changed.length, changed.slice(0, 5).join('; '));
      close();
    });
  },
};

/** One gRPC call with the token: counts it, its refusal, a missing answer, and a target that died of it. */
async function fuzzCall(ctx: { figures: Figures }, target: Target, what: string, m: MethodDef, messages: Array<object | Buffer>, auth: Auth, opts: { cancelAfterWrites?: boolean } = {}): Promise<Outcome> {
  // an endless stream (WatchTransitions) with nothing to say yet is not a missing answer: a short deadline
  const endless = m.path.endsWith('/WatchTransitions');
  const out = await target.call(m, messages, auth, { ...opts, maxMessages: 1, deadlineMs: endless ? 1500 : undefined });
  ctx.figures.add('rpcCalls');
  if (out.code !== grpc.status.OK) ctx.figures.add('rpcRefused');
  if (out.noAnswer && !endless) {
    ctx.figures.add('callsWithoutAnswer', 1, `${target.name} ${what}: no answer within ${DEADLINE_MS / 1000} s (${describe(messages)})`);
  }
  if (!target.alive) {
    ctx.figures.add('processCrashes', 0, `${target.name} died after ${what} (${describe(messages)})`);
    await target.restart();
  }
  return out;
}

/** Runs the tasks with at most `parallel` in flight. */
async function inParallel(tasks: Array<() => Promise<unknown>>, parallel: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < tasks.length) await tasks[next++]();
  }));
}

function describe(messages: Array<object | Buffer>): string {
  return messages.map((msg) => (Buffer.isBuffer(msg) ? `${msg.length} raw bytes` : JSON.stringify(msg, (_k, v) => (typeof v === 'string' && v.length > 80 ? `<${v.length} chars>` : v)))).join(', ').slice(0, 400);
}

