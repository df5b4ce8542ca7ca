/**
 * The config file's shape (docs/config.md): a JSON Schema for ajv, and the TypeScript types of a
 * file that passed it. Keys are snake_case, as the gRPC messages spell the same fields. The schema
 * checks structure, types and spelling; what needs ferry's own parsers (endpoints, cron, regexes,
 * sinks) is checked afterwards by the same validators the CLI and the API use (check.ts).
 */

/** An endpoint in a job: as the CLI takes it, or a local endpoint of a named agent. */
export type EndpointRef = string | { agent: string; endpoint: string };

export interface AgentConfig {
  /** host:port of a `ferry agent` */
  address: string;
  /** grpcs:// (the agent runs with --tls-cert) */
  tls?: boolean;
  /** what the agent serves (its --allow); when given, jobs may name only these */
  endpoints?: string[];
}

export interface ScheduleConfig {
  every?: string;
  cron?: string;
  timezone?: string;
}

export interface RetryConfig {
  initial?: string;
  max?: string;
  max_attempts?: number;
}

export interface JobConfig {
  sender: EndpointRef;
  receivers: EndpointRef[];
  filesystems?: string;
  include_snapshots?: string;
  exclude_snapshots?: string;
  initial?: 'most_recent' | 'all' | 'fail';
  concurrency?: number;
  batch?: boolean;
  snapshot_prefix?: string;
  schedule?: ScheduleConfig;
  retry?: RetryConfig;
  /** keep rules per side, as in a job spec (docs/retention.md) */
  retention?: { sender?: KeepRuleConfig[]; receivers?: KeepRuleConfig[] };
  /** zfs send/receive flags and the bandwidth limit (docs/send-options.md) */
  send?: SendConfig;
}

/** A job's send options as the file writes them. */
export interface SendConfig {
  raw?: boolean;
  compressed?: boolean;
  large_blocks?: boolean;
  properties?: boolean;
  allow_decrypted_send?: boolean;
  /** zfs receive -o, each "property=value" */
  receive_set?: string[];
  /** zfs receive -x, each a property name */
  receive_exclude?: string[];
  /** bytes per second: a number, or text such as "10M" */
  bandwidth_limit?: string | number;
}

/** A keep rule as the file writes it: the job spec's own shape (src/retention checks it). */
export interface KeepRuleConfig {
  type: 'not_replicated' | 'last_n' | 'grid' | 'regex';
  count?: number;
  grid?: string;
  regex?: string;
  negate?: boolean;
}

export interface ArchiveConfig {
  /** a log source root (absolute path), grpc://HOST:PORT, or the log root of a named agent */
  log: string | { agent: string };
  sink: string;
  consumer?: string;
  /** how often the log source is rescanned */
  interval?: string;
  retry?: Omit<RetryConfig, 'max_attempts'>;
}

/**
 * How `serve --config` and `apply` reach Redis (docs/ha.md): the keys of the REDIS_* variables and
 * the --redis-* flags, which both win over the file. Secrets only as files.
 */
export interface RedisConfig {
  url?: string;
  /** host:port of each sentinel: a list, or one comma-separated string as REDIS_SENTINELS takes it */
  sentinels?: string[] | string;
  sentinel_master?: string;
  username?: string;
  password_file?: string;
  sentinel_username?: string;
  sentinel_password_file?: string;
  /** Sentinel mode: TLS to the servers and the sentinels (a URL says it with rediss://) */
  tls?: boolean;
  min_replicas?: number | 'auto';
  replica_timeout?: string;
  /** how long a one-shot command (apply) waits for an unreachable Redis */
  wait?: string;
}

export interface ConfigFile {
  version?: 1;
  redis?: RedisConfig;
  agents?: Record<string, AgentConfig>;
  jobs?: Record<string, JobConfig>;
  archives?: Record<string, ArchiveConfig>;
}

const NAME = '^[A-Za-z0-9_-]{1,64}$';
const DURATION = { type: 'string', pattern: '^([0-9]+(ms|s|m|h|d))+$', description: 'a duration: 30s, 10m, 1h30m, 500ms' } as const;
const text = { type: 'string', minLength: 1 } as const;

/** string, or { agent, endpoint }: `required` and `properties` bind objects only, so one schema takes both forms. */
const endpointRef = {
  type: ['string', 'object'],
  minLength: 1,
  properties: { agent: { type: 'string', pattern: NAME }, endpoint: text },
  required: ['agent', 'endpoint'],
  additionalProperties: false,
} as const;

/** the shape only: which fields each type takes is checked with the job spec (parseKeepRules) */
const keepRules = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      type: { enum: ['not_replicated', 'last_n', 'grid', 'regex'] },
      count: { type: 'integer', minimum: 1 },
      grid: text,
      regex: text,
      negate: { type: 'boolean' },
    },
    required: ['type'],
    additionalProperties: false,
  },
} as const;

const retry = {
  type: 'object',
  properties: { initial: DURATION, max: DURATION, max_attempts: { type: 'integer', minimum: 1 } },
  additionalProperties: false,
} as const;

export const CONFIG_SCHEMA = {
  $id: 'https://ferry.invalid/config.schema.json',
  type: 'object',
  properties: {
    version: { const: 1 },
    redis: {
      type: 'object',
      properties: {
        url: text,
        sentinels: { type: ['array', 'string'], items: text, minItems: 1, minLength: 1 },
        sentinel_master: text,
        username: text,
        password_file: text,
        sentinel_username: text,
        sentinel_password_file: text,
        tls: { type: 'boolean' },
        min_replicas: { type: ['integer', 'string'], minimum: 0 },
        replica_timeout: DURATION,
        wait: DURATION,
        // refused with their own message (check.ts): a reviewed, versioned file holds no secrets
        password: false,
        sentinel_password: false,
      },
      additionalProperties: false,
    },
    agents: {
      type: ['object', 'null'],
      propertyNames: { pattern: NAME },
      additionalProperties: {
        type: 'object',
        properties: {
          address: text,
          tls: { type: 'boolean' },
          endpoints: { type: 'array', items: text, uniqueItems: true },
        },
        required: ['address'],
        additionalProperties: false,
      },
    },
    jobs: {
      type: ['object', 'null'],
      propertyNames: { pattern: NAME },
      additionalProperties: {
        type: 'object',
        properties: {
          sender: endpointRef,
          receivers: { type: 'array', items: endpointRef, minItems: 1, maxItems: 32 },
          filesystems: text,
          include_snapshots: text,
          exclude_snapshots: text,
          initial: { enum: ['most_recent', 'all', 'fail'] },
          concurrency: { type: 'integer', minimum: 1, maximum: 1000 },
          batch: { type: 'boolean' },
          snapshot_prefix: text,
          schedule: {
            type: 'object',
            properties: { every: DURATION, cron: text, timezone: text },
            additionalProperties: false,
          },
          retry,
          retention: {
            type: 'object',
            properties: { sender: keepRules, receivers: keepRules },
            additionalProperties: false,
          },
          send: {
            type: 'object',
            properties: {
              raw: { type: 'boolean' },
              compressed: { type: 'boolean' },
              large_blocks: { type: 'boolean' },
              properties: { type: 'boolean' },
              allow_decrypted_send: { type: 'boolean' },
              receive_set: { type: 'array', items: text },
              receive_exclude: { type: 'array', items: text },
              bandwidth_limit: { type: ['string', 'integer'] },
            },
            additionalProperties: false,
          },
        },
        required: ['sender', 'receivers'],
        additionalProperties: false,
      },
    },
    archives: {
      type: ['object', 'null'],
      propertyNames: { pattern: NAME },
      additionalProperties: {
        type: 'object',
        properties: {
          log: {
            type: ['string', 'object'],
            minLength: 1,
            properties: { agent: { type: 'string', pattern: NAME } },
            required: ['agent'],
            additionalProperties: false,
          },
          sink: text,
          consumer: text,
          interval: DURATION,
          retry: { ...retry, properties: { initial: DURATION, max: DURATION } },
        },
        required: ['log', 'sink'],
        additionalProperties: false,
      },
    },
  },
  additionalProperties: false,
} as const;
