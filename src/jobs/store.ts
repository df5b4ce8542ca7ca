import type { Redis } from 'ioredis';
import { InvalidArgumentError } from '../errors/index.js';
import { topScored } from '../util/redis.js';
import type { JobSpec } from './spec.js';

export interface StoredJob {
  spec: JobSpec;
  /** epoch ms */
  createdAt: number;
}

/** Jobs and the ids of their invocations, in Redis under the engine's prefix. */
export class JobStore {
  private readonly jobsKey: string;
  constructor(private readonly redis: Redis, private readonly prefix: string) {
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

  async addRun(name: string, runId: string, at: number): Promise<void> {
    await this.redis.zadd(this.runsKey(name), at, runId);
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
