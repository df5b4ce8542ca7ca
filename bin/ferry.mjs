#!/usr/bin/env node
// ferry is written in TypeScript and runs through tsx, so `npx ferry` works straight after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
