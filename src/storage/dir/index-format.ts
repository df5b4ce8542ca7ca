import type { Version } from '../driver.js';
import { isValidName } from './names.js';

/**
 * The text of a dir index (snapshot-index.ts), pure. A line format, since a listing parses 10,000
 * entries per filesystem and side: one header line, then one line per version, oldest first:
 *
 *   ferry-dir-index-v2 TAB <fs> TAB <ino> TAB <mtimeNs> TAB <nlink> TAB <size> TAB <count> LF
 *   <name> TAB <guid> TAB <createtxg> [TAB <creation>] LF
 *
 * The text is ASCII, read as latin1 (no UTF-8 decoding; substrings of it are cheap slices). A
 * version with a field a plain line cannot carry (a name names.ts would refuse, a guid or creation
 * with a tab, a line feed or anything outside printable ASCII, a createtxg that is not a
 * non-negative integer: only a hand-made snapshot directory or meta.json has one)
 * is written as a JSON array line instead, `[name, guid, createtxg, creation|null]` with non-ASCII
 * escaped. Anything else — another format (v1 was one JSON document), another filesystem, a line
 * out of shape, a count that does not match, a missing final line feed (torn) — decodes to null:
 * the index is rebuilt, never misread.
 */
export const INDEX_FORMAT = 'ferry-dir-index-v2';

/** `.ferry/snapshots/<fs>` as the index's writer left it: what a reader compares with the directory now (stat, as decimal strings). */
export interface DirIdentity {
  ino: string;
  mtimeNs: string;
  /** 2 + subdirectories on most filesystems: changes with a snapshot added or removed even within one mtime tick */
  nlink: string;
  /** the directory's size, which most filesystems change with its entries */
  size: string;
}

export interface DecodedIndex {
  dir: DirIdentity;
  /** oldest first */
  versions: Version[];
}

const PLAIN = /^[\x20-\x7e]*$/;
const NON_ASCII = /[\u007f-\uffff]/g;
/** createtxg digits at most: beyond 15 a decimal may not be a safe integer */
const MAX_TXG_DIGITS = 15;

const plain = (s: string) => PLAIN.test(s);

function entryLine(v: Version): string {
  const creation = v.creation ?? null;
  const asLine = Number.isSafeInteger(v.createtxg) && v.createtxg >= 0 && isValidName(v.name) && plain(v.guid)
    && (creation === null || (typeof creation === 'string' && plain(creation)));
  if (asLine) return creation === null ? `${v.name}\t${v.guid}\t${v.createtxg}\n` : `${v.name}\t${v.guid}\t${v.createtxg}\t${creation}\n`;
  const json = JSON.stringify([v.name, v.guid, v.createtxg, creation]);
  return `${json.replace(NON_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

/** Pure: the index text of `fs`, `versions` in any order (written oldest first). ASCII only. */
export function encodeIndex(fs: string, dir: DirIdentity, versions: readonly Version[]): string {
  const sorted = [...versions].sort((a, b) => a.createtxg - b.createtxg);
  const header = [INDEX_FORMAT, fs, dir.ino, dir.mtimeNs, dir.nlink, dir.size, String(sorted.length)].join('\t');
  return `${header}\n${sorted.map(entryLine).join('')}`;
}

/** A listed name must stay one path component under the snapshot directory (listSnapshots joins it). */
const badName = (name: string) => name === '' || name === '.' || name === '..' || name.includes('/');

/**
 * Whether text[from, to) holds a name of the characters names.ts allows, not starting with '.' or
 * '-': a plain line's name (the writer checks the full rule). A loop, not a RegExp over a slice:
 * it runs once per version listed.
 */
function plainNameAt(text: string, from: number, to: number): boolean {
  if (to === from) return false;
  const first = text.charCodeAt(from);
  if (first === 0x2e || first === 0x2d) return false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    // a-z A-Z 0-9 : _ . -
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x3a) || c === 0x5f || c === 0x2e || c === 0x2d)) return false;
  }
  return true;
}

function jsonEntry(line: string): Version | null {
  let e: unknown;
  try {
    e = JSON.parse(line);
  } catch {
    return null;
  }
  if (!Array.isArray(e) || e.length !== 4 || typeof e[0] !== 'string' || badName(e[0]) || typeof e[1] !== 'string' || !Number.isSafeInteger(e[2])) return null;
  if (e[3] !== null && typeof e[3] !== 'string') return null;
  return e[3] === null ? { name: e[0], guid: e[1], createtxg: e[2] as number } : { name: e[0], guid: e[1], createtxg: e[2] as number, creation: e[3] };
}

/**
 * Pure: the index of `fs` in `text` (the file read as latin1), or null when it is not one: of
 * another format or filesystem, torn, or with any line out of shape. Written for speed: one pass
 * of indexOf over the text, substrings taken as slices, no intermediate arrays.
 */
export function decodeIndex(text: string, fs: string): DecodedIndex | null {
  const headerEnd = text.indexOf('\n');
  if (headerEnd < 0 || !text.startsWith(`${INDEX_FORMAT}\t`)) return null;
  const header = text.slice(0, headerEnd).split('\t');
  if (header.length !== 7 || header[1] !== fs || !header.slice(2).every((f) => /^\d{1,30}$/.test(f))) return null;
  const count = Number(header[6]);
  if (count > text.length) return null; // a line per version, each longer than one character
  const dir: DirIdentity = { ino: header[2], mtimeNs: header[3], nlink: header[4], size: header[5] };
  const versions: Version[] = new Array(count);
  let sorted = true;
  let at = headerEnd + 1;
  let n = 0;
  for (; at < text.length; n++) {
    const end = text.indexOf('\n', at);
    if (end < 0 || n === count) return null; // torn (no final line feed) or more lines than counted
    let v: Version | null;
    if (text.charCodeAt(at) === 0x5b /* [ */) {
      v = jsonEntry(text.slice(at, end));
    } else {
      v = null;
      const t1 = text.indexOf('\t', at);
      const t2 = t1 < 0 || t1 > end ? -1 : text.indexOf('\t', t1 + 1);
      if (t2 >= 0 && t2 < end) {
        let t3 = text.indexOf('\t', t2 + 1);
        if (t3 < 0 || t3 > end) t3 = end;
        let txg = 0;
        let digits = t3 - t2 - 1;
        for (let i = t2 + 1; i < t3; i++) {
          const d = text.charCodeAt(i) - 48;
          if (d < 0 || d > 9) digits = 0;
          txg = txg * 10 + d;
        }
        const tail = t3 === end ? -1 : text.indexOf('\t', t3 + 1); // a creation holds no tab
        if (digits > 0 && digits <= MAX_TXG_DIGITS && (tail < 0 || tail > end) && plainNameAt(text, at, t1)) {
          const name = text.slice(at, t1);
          const guid = text.slice(t1 + 1, t2);
          v = t3 === end ? { name, guid, createtxg: txg } : { name, guid, createtxg: txg, creation: text.slice(t3 + 1, end) };
        }
      }
    }
    if (v === null) return null;
    if (n > 0 && versions[n - 1].createtxg > v.createtxg) sorted = false;
    versions[n] = v;
    at = end + 1;
  }
  if (n !== count) return null; // fewer lines than counted
  // written in order: sorted only when edited by hand
  return { dir, versions: sorted ? versions : versions.sort((a, b) => a.createtxg - b.createtxg) };
}
