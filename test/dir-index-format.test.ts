// The dir index's text (src/storage/dir/index-format.ts): what it writes reads back exactly,
// whatever a meta.json held, and anything it did not write reads as no index at all.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Version } from '../src/storage/driver.js';
import { decodeIndex, encodeIndex, INDEX_FORMAT, type DirIdentity } from '../src/storage/dir/index-format.js';

const dir: DirIdentity = { ino: '4252337', mtimeNs: '1796334745361898606', nlink: '5', size: '4096' };
const v = (name: string, createtxg: number, creation?: string, guid = `${createtxg}`.padStart(32, 'a')): Version =>
  creation === undefined ? { name, guid, createtxg } : { name, guid, createtxg, creation };

describe('dir index format', () => {
  it('reads back what it writes, oldest first, the directory identity included', () => {
    const versions = [v('s2', 2, '2026-01-01T00:10:00.000Z'), v('s1', 1, '2026-01-01T00:00:00.000Z'), v('s3', 30)];
    const text = encodeIndex('data', dir, versions);
    assert.ok(text.startsWith(`${INDEX_FORMAT}\tdata\t`));
    assert.match(text, /^[\x20-\x7e\t\n]*$/);
    assert.deepEqual(decodeIndex(text, 'data'), { dir, versions: [versions[1], versions[0], versions[2]] });
    assert.deepEqual(decodeIndex(encodeIndex('data', dir, []), 'data'), { dir, versions: [] });
  });

  it('carries fields a plain line cannot as JSON lines, still ASCII', () => {
    const odd = [
      v('s1', 1, 'tab\there'),
      v('s2', 2, 'line\nfeed'),
      v('s3', 3, 'é and 🐧 and \u0000'),
      v('s4', 4, undefined, 'guid with space\t'),
      v('my snap', 5),
      v('[s6', 6),
      v('s7', -7),
      v('s8', 8, ''),
    ];
    const text = encodeIndex('data', dir, odd);
    assert.match(text, /^[\x20-\x7e\t\n]*$/);
    const back = decodeIndex(Buffer.from(text, 'latin1').toString('latin1'), 'data');
    assert.deepEqual(back?.versions, [...odd].sort((a, b) => a.createtxg - b.createtxg));
  });

  it('sorts an index whose lines are out of order (edited by hand)', () => {
    const text = `${INDEX_FORMAT}\tdata\t1\t2\t3\t4\t2\ns2\taa\t2\ns1\tbb\t1\n`;
    assert.deepEqual(decodeIndex(text, 'data')?.versions.map((x) => x.name), ['s1', 's2']);
  });

  it('is no index when it is another format, filesystem or out of shape', () => {
    const good = encodeIndex('data', dir, [v('s1', 1, '2026-01-01T00:00:00.000Z'), v('s2', 2)]);
    assert.ok(decodeIndex(good, 'data'));
    const bad: Record<string, string> = {
      'another filesystem': good,
      v1: JSON.stringify({ format: 'ferry-dir-index-v1', fs: 'data', dir, snapshots: [['s1', 'aa', 1, null]] }),
      'a later format': good.replace(INDEX_FORMAT, 'ferry-dir-index-v3'),
      empty: '',
      'a header only, no line feed': good.slice(0, good.indexOf('\n')),
      'a count too high': good.replace(/\t2\n/, '\t3\n'),
      'a count too low': good.replace(/\t2\n/, '\t1\n'),
      'a huge count': good.replace(/\t2\n/, '\t99999999999999999999\n'),
      'a header field short': good.replace(/\t5\t/, '\t'),
      'no final line feed': good.slice(0, -1),
      'an empty line': good.replace('\ns2', '\n\ns2'),
      'an empty name': good.replace('\ns2', '\n'),
      'a hidden name': good.replace('\ns2', '\n.s2'),
      'a name with a slash': good.replace('\ns2', '\na/s2'),
      'a createtxg beyond a safe integer': good.replace(/\t2\n$/, '\t9999999999999999\n'),
      'a negative createtxg on a plain line': good.replace(/\t2\n$/, '\t-2\n'),
      'a createtxg missing': good.replace(/\t2\n$/, '\t\n'),
      'a JSON line with a path in its name': good.replace(/\ns2\t[^\n]*/, '\n["../s2","aa",2,null]'),
      'a JSON line of another shape': good.replace(/\ns2\t[^\n]*/, '\n["s2","aa",2]'),
      'a JSON line torn': good.replace(/\ns2\t[^\n]*/, '\n["s2","aa",2,nu'),
    };
    for (const [what, text] of Object.entries(bad)) assert.equal(decodeIndex(text, what === 'another filesystem' ? 'other' : 'data'), null, what);
  });
});
