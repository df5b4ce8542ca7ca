export { TargetHealth, targetOf, unhealthyTargets, type UnhealthyTarget, type TargetHealthOptions, type TargetHealthRecord, type TargetState } from './target-health.js';
export { startHealthChecker, type HealthChecker, type HealthCheckerOptions } from './health-checker.js';
export { admitEndpoints, reportUnreachable, targetsOf } from './gate.js';
export { probeTarget } from './probe.js';
