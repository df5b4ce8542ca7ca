import { readFileSync } from 'node:fs';

/** ferry's version, from package.json (two folders up, in the repository and in a built tree alike). */
export const FERRY_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
