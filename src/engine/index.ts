export { DEFAULT_TRANSITION_LOG_MAX_LEN, Engine, type EngineOptions, type WorkerOptions } from './engine.js';
export { TransitionLog } from './transition-log.js';
export type { ReconcileReport, ReconcileReason } from './reconciler.js';
export type { InspectionEvent, InspectFn } from './inspection.js';
export type {
  Clock, EffectContext, EffectDefinition, EngineTrace, MachineDefinition, MachineRecord, Registry, TransitionEvent, InboxEnvelope,
} from './types.js';
/** opens a connection as the engine expects it (the caller owns and closes it) */
export { openRedis } from '../util/redis.js';
export { mergeRegistries } from './merge-registries.js';
