import type { Redis } from 'ioredis';
import type { AgentConfig, ArchiveConfig } from './schema.js';

/** What the last `ferry apply` left in Redis besides the jobs themselves. */
export interface AppliedConfig {
  /** the jobs the config manages: the only ones apply deletes without --prune */
  managedJobs: string[];
  /** the file's sections as written, for `config export` and `serve --config` */
  agents: Record<string, AgentConfig>;
  archives: Record<string, ArchiveConfig>;
}

export const EMPTY_APPLIED: AppliedConfig = Object.freeze({ managedJobs: [], agents: {}, archives: {} });

/** One hash, `<prefix>:config`: a field per part, each JSON. */
export class ConfigStore {
  private readonly key: string;
  constructor(private readonly redis: Redis, prefix: string) {
    this.key = `${prefix}:config`;
  }

  async read(): Promise<AppliedConfig> {
    const h = await this.redis.hgetall(this.key);
    const parse = <T>(v: string | undefined, fallback: T): T => (v ? (JSON.parse(v) as T) : fallback);
    return { managedJobs: parse(h.managedJobs, []), agents: parse(h.agents, {}), archives: parse(h.archives, {}) };
  }

  async write(c: AppliedConfig): Promise<void> {
    await this.redis.hset(this.key, { managedJobs: JSON.stringify(c.managedJobs), agents: JSON.stringify(c.agents), archives: JSON.stringify(c.archives) });
  }
}
