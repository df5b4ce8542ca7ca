import type { Version } from '../driver.js';
import type { Version as VersionMsg, Version__Output as VersionMsgOutput } from '../../grpc/generated/ferry/v1/Version.js';
import { invalidField } from '../../grpc/status.js';

export function versionToMsg(v: Version): VersionMsg {
  return { name: v.name, guid: v.guid, createtxg: v.createtxg, creation: v.creation ?? '' };
}

/** A Version from the wire; `field` names it in the INVALID_ARGUMENT message when it is unusable. */
export function versionFromMsg(m: VersionMsgOutput | null | undefined, field: string): Version {
  if (!m) throw invalidField(field, 'required');
  if (typeof m.name !== 'string' || !m.name) throw invalidField(`${field}.name`, 'required');
  if (typeof m.guid !== 'string' || !m.guid) throw invalidField(`${field}.guid`, 'required');
  const createtxg = m.createtxg ?? 0;
  if (!Number.isSafeInteger(createtxg) || createtxg < 0) throw invalidField(`${field}.createtxg`, `must be a non-negative integer, not ${String(m.createtxg)}`);
  return { name: m.name, guid: m.guid, createtxg, ...(m.creation ? { creation: m.creation } : {}) };
}
