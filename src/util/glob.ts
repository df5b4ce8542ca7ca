/**
 * Pure: a tiny glob as an anchored RegExp. `*` matches any run of characters, `/` included (so
 * `data/*` takes every descendant of `data`), `?` matches one character; everything else is literal.
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (const ch of glob) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'u');
}
