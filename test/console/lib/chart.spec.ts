import { callsPerSecond, lastValue, niceMax, polylines, yMaxOf } from '../../../console/src/lib/chart.js';

test('the y axis tops at a round number at or above the largest value', () => {
  expect([niceMax(0), niceMax(0.3), niceMax(1), niceMax(1.2), niceMax(3), niceMax(7), niceMax(45), niceMax(1000)]).toEqual([
    1, 0.5, 1, 2, 5, 10, 50, 1000,
  ]);
  expect(yMaxOf([[1, null, 12], [3]])).toBe(20);
  expect(yMaxOf([[null], []])).toBe(1);
});

test('points spread over the width, 0 at the bottom, gaps split the line, values above the top clamped', () => {
  const box = { width: 100, height: 50 };
  expect(polylines([0, 5, 10], box, 10)).toEqual(['0,50 50,25 100,0']);
  expect(polylines([1, null, 2, 3], box, 10)).toEqual(['0,45', '66.7,40 100,35']);
  expect(polylines([20], box, 10)).toEqual(['0,0']);
  expect(polylines([], box, 10)).toEqual([]);
  expect(polylines([null, null], box, 10)).toEqual([]);
});

test('calls per second from calls per bucket; the last value of a series skips its gaps', () => {
  expect(callsPerSecond([{ calls: 20 }, { calls: 5 }], 10)).toEqual([2, 0.5]);
  expect(callsPerSecond([{ calls: 3 }], 0)).toEqual([3]);
  expect(lastValue([1, 2, null])).toBe(2);
  expect(lastValue([null])).toBeUndefined();
});
