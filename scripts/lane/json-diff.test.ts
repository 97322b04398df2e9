import { describe, expect, it } from 'vitest';
import { jsonDiff } from './json-diff.js';

describe('the real-vs-fake JSON difference', () => {
  it('is empty for equal values and names each differing leaf', () => {
    expect(jsonDiff({ a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] })).toEqual([]);
    expect(jsonDiff({ a: [1, { b: 'x' }], c: 1 }, { a: [2, { b: 'y' }, 3], d: null })).toEqual([
      '$.a[0]: real 1, fake 2',
      '$.a[1].b: real "x", fake "y"',
      '$.a[2]: real has no element, fake 3',
      '$.c: real 1, fake has no such field',
      '$.d: real has no such field, fake null',
    ]);
  });
});
