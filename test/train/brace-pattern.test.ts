import { describe, expect, it } from 'vitest';
import { expandBracePattern } from '../../activities/train/brace-pattern.js';

describe('brace patterns', () => {
  it('expands zero-padded ranges and lists, in order', () => {
    expect(expandBracePattern('s/shard-{000008..000011}.tar')).toEqual([
      's/shard-000008.tar',
      's/shard-000009.tar',
      's/shard-000010.tar',
      's/shard-000011.tar',
    ]);
    expect(expandBracePattern('{a,b}/x-{1..2}')).toEqual(['a/x-1', 'a/x-2', 'b/x-1', 'b/x-2']);
    expect(expandBracePattern('plain.tar')).toEqual(['plain.tar']);
  });

  it('rejects backwards ranges and unknown groups with the pattern named', () => {
    expect(() => expandBracePattern('x-{5..1}.tar')).toThrow(/x-\{5\.\.1\}\.tar: the range \{5\.\.1\} runs backwards/);
    expect(() => expandBracePattern('x-{abc}.tar')).toThrow(/neither a range/);
  });
});
