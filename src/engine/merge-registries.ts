import type { Registry } from './types.js';

/** One registry from several domains' registries; a name registered twice is a programming error. */
export function mergeRegistries(...parts: Registry[]): Registry {
  const out: Registry = { machines: {}, effects: {} };
  for (const part of parts) {
    for (const [k, v] of Object.entries(part.machines)) {
      if (out.machines[k]) throw new Error(`machine kind "${k}" is registered twice`);
      out.machines[k] = v;
    }
    for (const [k, v] of Object.entries(part.effects)) {
      if (out.effects[k]) throw new Error(`effect "${k}" is registered twice`);
      out.effects[k] = v;
    }
  }
  return out;
}
