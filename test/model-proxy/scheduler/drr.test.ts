import { describe, expect, it } from 'vitest';
import { DeficitRoundRobin } from '../../../model-proxy/scheduler/drr.js';

const always = () => true;

/** Takes `n` items (or fewer when the queues run dry), in dispatch order. */
function take<T>(drr: DeficitRoundRobin<T>, n: number, canServe: (t: string) => boolean = always): T[] {
  const out: T[] = [];
  for (let i = 0; i < n; i++) {
    const item = drr.next(canServe, always);
    if (item === undefined) break;
    out.push(item);
  }
  return out;
}

function fill(drr: DeficitRoundRobin<string>, tenant: string, weight: number, count: number): void {
  for (let i = 1; i <= count; i++) drr.enqueue(tenant, weight, `${tenant}${i}`);
}

describe('DeficitRoundRobin', () => {
  it('alternates between tenants of equal weight', () => {
    const drr = new DeficitRoundRobin<string>();
    fill(drr, 'a', 1, 3);
    fill(drr, 'b', 1, 3);
    expect(take(drr, 6)).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
    expect(drr.size()).toBe(0);
  });

  it('serves weights 2:1 in a 2:1 ratio over many dispatches', () => {
    const drr = new DeficitRoundRobin<string>();
    fill(drr, 'a', 2, 1000);
    fill(drr, 'b', 1, 1000);
    const served = take(drr, 900);
    const a = served.filter((x) => x.startsWith('a')).length;
    const b = served.filter((x) => x.startsWith('b')).length;
    expect(a).toBe(600);
    expect(b).toBe(300);
    // Not in bursts: never more than two of a's in a row.
    expect(served.join(',')).not.toMatch(/a\d+,a\d+,a\d+/);
  });

  it('gives a tenant alone every dispatch, whatever its weight', () => {
    const drr = new DeficitRoundRobin<string>();
    fill(drr, 'a', 0.25, 5);
    expect(take(drr, 10)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
  });

  it('keeps FIFO order within a tenant and serves the oldest item that fits', () => {
    const drr = new DeficitRoundRobin<string>();
    fill(drr, 'a', 1, 4);
    expect(drr.next(always, (x) => x !== 'a1')).toBe('a2');
    expect(take(drr, 10)).toEqual(['a1', 'a3', 'a4']);
  });

  it('passes over a capped tenant without letting it save up a burst', () => {
    const drr = new DeficitRoundRobin<string>();
    fill(drr, 'a', 1, 10);
    fill(drr, 'b', 1, 10);
    let aCapped = true;
    const canServe = (t: string) => t !== 'a' || !aCapped;
    expect(take(drr, 4, canServe)).toEqual(['b1', 'b2', 'b3', 'b4']);
    aCapped = false;
    expect(take(drr, 4, canServe)).toEqual(['a1', 'b5', 'a2', 'b6']);
  });

  it('returns nothing when no tenant can be served', () => {
    const drr = new DeficitRoundRobin<string>();
    fill(drr, 'a', 1, 2);
    expect(drr.next(() => false, always)).toBeUndefined();
    expect(drr.next(always, () => false)).toBeUndefined();
    expect(drr.size('a')).toBe(2);
  });

  it('removes a waiting item, and the tenant with its last item', () => {
    const drr = new DeficitRoundRobin<string>();
    fill(drr, 'a', 1, 2);
    fill(drr, 'b', 1, 1);
    expect(drr.remove('a', 'a1')).toBe(true);
    expect(drr.remove('a', 'a1')).toBe(false);
    expect(drr.remove('b', 'b1')).toBe(true);
    expect(drr.tenants()).toEqual(['a']);
    expect(take(drr, 5)).toEqual(['a2']);
  });

  it('puts a newcomer at the end of the round, behind tenants that were already waiting', () => {
    const drr = new DeficitRoundRobin<string>();
    fill(drr, 'a', 1, 10);
    fill(drr, 'c', 1, 10);
    expect(take(drr, 2)).toEqual(['a1', 'c1']);
    drr.enqueue('b', 1, 'b1');
    expect(take(drr, 4)).toEqual(['a2', 'b1', 'c2', 'a3']);
  });

  it('lets a newcomer in after the current round, not behind a long queue', () => {
    const drr = new DeficitRoundRobin<string>();
    fill(drr, 'a', 1, 100);
    expect(take(drr, 3)).toEqual(['a1', 'a2', 'a3']);
    drr.enqueue('b', 1, 'b1');
    expect(take(drr, 2)).toEqual(['b1', 'a4']);
    drr.enqueue('b', 1, 'b2');
    expect(take(drr, 2)).toEqual(['b2', 'a5']);
  });
});
