import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';

/**
 * Defines Lua scripts as commands of a connection, each once per connection (ioredis sends EVALSHA
 * and falls back to EVAL when the server does not know the script). BullMQ's convention: a script is
 * `<name>-<numKeys>.lua`, with a KEYS/ARGV/Output header, so its number of keys comes from its name.
 *
 * @param folder the scripts' folder, ending in `/`: `new URL('./commands/', import.meta.url)` beside
 *   the calling module (scripts/build.mjs copies the .lua files into the compiled tree beside it too)
 * @param scripts command name -> file name without `.lua`
 * @returns the same connection, typed with the commands `T` its caller declares
 */
export function defineScripts<T extends object>(redis: Redis, folder: URL, scripts: Record<keyof T & string, string>): Redis & T {
  if (!folder.href.endsWith('/')) throw new Error(`script folder ${folder.href} must end in "/"`);
  for (const [command, file] of Object.entries<string>(scripts)) {
    if (command in redis) continue;
    const numberOfKeys = Number(file.slice(file.lastIndexOf('-') + 1));
    if (!file.includes('-') || !Number.isInteger(numberOfKeys)) throw new Error(`script ${file}.lua: its name must end in -<number of keys>`);
    redis.defineCommand(command, { lua: readFileSync(fileURLToPath(new URL(`${file}.lua`, folder)), 'utf8'), numberOfKeys });
  }
  return redis as Redis & T;
}
