import type { ScenarioContext } from './env.js';

/** One fault-injection scenario of `npm run chaos` (chaos/scenarios/*.ts). */
export interface Scenario {
  /** what --only takes */
  name: string;
  /** one line for the table and the docs */
  title: string;
  /** its share of the time budget (the shares of the default scenarios add up to about 1) */
  share: number;
  /** Runs until `ctx.deadline` (at least one round), adding to `ctx.figures`. A throw is reported as the scenario failing. */
  run(ctx: ScenarioContext): Promise<void>;
}
