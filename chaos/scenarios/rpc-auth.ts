import * as grpc from '@grpc/grpc-js';
import type { Scenario } from '../scenario.js';
import { ChaosEnv } from '../env.js';
import { startTargets, type Auth } from './rpc-lab.js';

/**
 * Every RPC of the agent and the orchestrator (not grpc.health, open by design) called without a
 * token and with five wrong ones (another token, the token plus a character, an empty Bearer, the
 * token as Basic, the bare token): every call must be refused with UNAUTHENTICATED.
 */
export const rpcAuth: Scenario = {
  name: 'rpc-auth',
  title: 'every RPC without a token and with wrong ones',
  share: 0.03,
  async run(ctx) {
    await ChaosEnv.use(ctx, async (env) => {
      const { targets, close } = await startTargets(env);
      const wrong: Auth[] = [
        { kind: 'none' }, { kind: 'raw', value: 'Bearer wrong-token' }, { kind: 'raw', value: `Bearer ${env.token}x` },
        { kind: 'raw', value: 'Bearer ' }, { kind: 'raw', value: `Basic ${env.token}` }, { kind: 'raw', value: env.token },
      ];
      for (const t of targets) {
        for (const [name, m] of Object.entries(t.service)) {
          for (const auth of wrong) {
            const out = await t.target.call(m, [t.plans[name]?.base() ?? {}], auth, { maxMessages: 1, deadlineMs: 5000 });
            ctx.figures.add('rpcAuthCalls');
            if (out.code !== grpc.status.UNAUTHENTICATED) {
              ctx.figures.add('unauthenticatedAccepted', 1, `${t.target.name} ${name} with ${JSON.stringify(auth)}: ${grpc.status[out.code]} ${out.details}`);
            }
          }
        }
      }
      ctx.log(`${ctx.figures.values.rpcAuthCalls} calls, ${ctx.figures.values.unauthenticatedAccepted} not refused`);
      close();
    });
  },
};
