import { describe, expect, it } from 'vitest';
import { Channel, mapConcurrent } from './flow.js';

async function* count(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) yield i;
}

/** A promise with its resolve handle. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('mapConcurrent', () => {
  it('never has more than `limit` in flight, and runs every item once', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    for await (const r of mapConcurrent(count(50), 4, async (i) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      // Held across a macrotask (the source's pulls are microtasks, so every free slot fills
      // first), then an uneven number of microtasks so items complete out of order.
      await new Promise((r) => setImmediate(r));
      for (let k = 0; k < i % 5; k++) await Promise.resolve();
      inFlight--;
      return i * 2;
    })) {
      expect(r.ok).toBe(true);
      if (r.ok) seen.push(r.value / 2);
    }
    expect(peak).toBe(4);
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(50).keys()]);
  });

  it('a failing item is reported with its error and the rest go on', async () => {
    const out: { item: number; ok: boolean }[] = [];
    for await (const r of mapConcurrent(count(10), 3, async (i) => {
      if (i === 3 || i === 7) throw new Error(`bad ${i}`);
      return i;
    })) {
      out.push({ item: r.item, ok: r.ok });
      if (!r.ok) expect((r.error as Error).message).toBe(`bad ${r.item}`);
    }
    expect(out).toHaveLength(10);
    expect(out.filter((o) => !o.ok).map((o) => o.item).sort()).toEqual([3, 7]);
  });

  it('yields a result before the source has ended (streams)', async () => {
    const firstDone = deferred();
    const source = (async function* () {
      yield 1;
      // The source only goes on once item 1 has come out the other end: a stage that collected
      // its input first would wait here for ever (and the test would time out).
      await firstDone.promise;
      yield 2;
    })();
    const order: string[] = [];
    for await (const r of mapConcurrent(source, 8, async (i) => i)) {
      order.push(`out ${r.ok ? r.value : '?'}`);
      if (r.ok && r.value === 1) firstDone.resolve();
    }
    expect(order).toEqual(['out 1', 'out 2']);
  });

  it('a source that throws ends the iteration with its error after the items in flight', async () => {
    const source = (async function* () {
      yield 1;
      throw new Error('source broke');
    })();
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const r of mapConcurrent(source, 2, async (i) => i)) if (r.ok) got.push(r.value);
      })(),
    ).rejects.toThrow('source broke');
  });
});

describe('Channel', () => {
  it('passes items in order and ends on close; push waits while full', async () => {
    const ch = new Channel<number>(2);
    const pushed: number[] = [];
    const producer = (async () => {
      for (let i = 0; i < 6; i++) {
        await ch.push(i);
        pushed.push(i);
      }
      ch.close();
    })();
    // Nothing is read yet: the producer stops at the capacity (2 queued, the third push waits).
    for (let k = 0; k < 20; k++) await Promise.resolve();
    expect(pushed).toEqual([0, 1]);
    const got: number[] = [];
    for await (const x of ch) got.push(x);
    await producer;
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a producer failure reaches the consumer after the queued items', async () => {
    const ch = new Channel<number>(10);
    await ch.push(1, 2);
    ch.fail(new Error('discovery failed'));
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const x of ch) got.push(x);
      })(),
    ).rejects.toThrow('discovery failed');
    expect(got).toEqual([1, 2]);
  });

  it('stop() releases a producer waiting on a full channel, and later pushes return false', async () => {
    const ch = new Channel<number>(1);
    await ch.push(1);
    const waiting = ch.push(2);
    ch.stop();
    expect(await waiting).toBe(false);
    expect(await ch.push(3)).toBe(false);
  });

  it('a consumer that breaks out releases the producer', async () => {
    const ch = new Channel<number>(1);
    const producer = (async () => {
      let n = 0;
      while (await ch.push(n++));
      return n;
    })();
    for await (const x of ch) if (x === 2) break;
    expect(await producer).toBeGreaterThan(2);
  });
});
