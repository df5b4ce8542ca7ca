import type { Scenario } from '../scenario.js';
import { commitPoints } from './commit-points.js';
import { driverKill } from './driver-kill.js';
import { failover } from './failover.js';
import { redisKill } from './redis-kill.js';
import { repeatedKill } from './repeated-kill.js';
import { rpcAuth } from './rpc-auth.js';
import { rpcFuzz } from './rpc-fuzz.js';
import { smallTmpfs } from './small-tmpfs.js';
import { workerKill } from './worker-kill.js';

/** Every scenario, in the order a full run takes them. */
export const SCENARIOS: Scenario[] = [workerKill, driverKill, repeatedKill, commitPoints, redisKill, failover, rpcAuth, rpcFuzz, smallTmpfs];
