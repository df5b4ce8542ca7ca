import type { Redis } from 'ioredis';
import { InvalidArgumentError } from '../errors/index.js';
import { topScored } from '../util/redis.js';
import type { JobSpec } from './spec.js';

export interface StoredJob {
  spec: JobSpec;
  /** epoch ms */
  createdAt: number;
}

/**
 * invocation ids listed per job: the newest are kept (hourly, over a year), the older ones' machines
 * are gone after the engine's retention anyway (docs/engine.md "Retention")
 */
export const RUNS_LISTED_PER_JOB = 10_000;

/** Jobs and the ids of their invocations, in Redis under the engine's prefix. */
export class JobStore {
  private readonly jobsKey: string;
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly runsListed = RUNS_LISTED_PER_JOB) {
    this.jobsKey = `${prefix}:jobs`;
  }

  /** the sorted set of a job's invocation ids, scored by firing time (ms) */
  private runsKey(name: string): string {
    return `${this.prefix}:jobruns:${name}`;
  }

  /** Stores a job; without `replace` a name in use is refused (ALREADY_EXISTS). */
  async put(spec: JobSpec, opts: { replace?: boolean; now?: number } = {}): Promise<StoredJob> {
    const existing = await this.get(spec.name);
    if (existing && !opts.replace) {
      throw new InvalidArgumentError(`name: a job named ${JSON.stringify(spec.name)} exists; delete it first or replace it (--replace)`, { code: 'ALREADY_EXISTS', details: { field: 'name' } });
    }
    const job: StoredJob = { spec, createdAt: existing?.createdAt ?? opts.now ?? Date.now() };
    await this.redis.hset(this.jobsKey, spec.name, JSON.stringify(job));
    return job;
  }

  async get(name: string): Promise<StoredJob | null> {
    const raw = await this.redis.hget(this.jobsKey, name);
    return raw ? (JSON.parse(raw) as StoredJob) : null;
  }

  async list(): Promise<StoredJob[]> {
    const all = await this.redis.hgetall(this.jobsKey);
    return Object.values(all).map((v) => JSON.parse(v) as StoredJob).sort((a, b) => a.spec.name.localeCompare(b.spec.name));
  }

  /** Removes the job; its invocations' ids are kept (their machines and reports stay). */
  async delete(name: string): Promise<boolean> {
    return (await this.redis.hdel(this.jobsKey, name)) > 0;
  }

  /** Lists an invocation under its job; the list keeps the newest `runsListed` (bounded, like the machines). */
  async addRun(name: string, runId: string, at: number): Promise<void> {
    const key = this.runsKey(name);
    await this.redis.multi().zadd(key, at, runId).zremrangebyrank(key, 0, -this.runsListed - 1).exec();
  }

  /** invocation ids, newest first */
  async runs(name: string, limit = 20): Promise<string[]> {
    return this.redis.zrevrange(this.runsKey(name), 0, limit - 1);
  }

  /** invocation ids, newest first, with their firing times (ms since epoch) */
  async runsWithTimes(name: string, limit = 20): Promise<Array<[id: string, at: number]>> {
    return topScored(this.redis, this.runsKey(name), limit);
  }
}
