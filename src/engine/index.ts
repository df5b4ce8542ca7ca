export { Engine, type EngineOptions, type WorkerOptions } from './engine.js';
export { TransitionLog } from './transition-log.js';
export type { InspectionEvent, InspectFn } from './inspection.js';
export type {
  Clock, EffectContext, EffectDefinition, MachineDefinition, MachineRecord, Registry, TransitionEvent, InboxEnvelope,
} from './types.js';
export { mergeRegistries } from './merge-registries.js';
