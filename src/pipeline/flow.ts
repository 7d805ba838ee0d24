/**
 * Plumbing between stages: a bounded channel (a producer's callback feeding a consumer's async
 * iteration, with backpressure) and a bounded-concurrency map over an async iterable that yields
 * results as they complete and never lets one item's failure stop the rest.
 */

/**
 * A bounded FIFO between a push-style producer (discovery's onBatch) and a pull-style consumer
 * (for await). `push` waits while the channel is full, so a slow consumer slows the producer
 * instead of growing memory; once the consumer has gone, `push` returns at once (nothing is kept).
 */
export class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private closed = false;
  private failure: { error: unknown } | undefined;
  private abandoned = false;
  private wakeConsumer: (() => void) | undefined;
  private readonly wakeProducers: (() => void)[] = [];

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('channel capacity must be >= 1');
  }

  /** Add items, waiting while the channel is full. False once the consumer has stopped reading. */
  async push(...items: readonly T[]): Promise<boolean> {
    for (const item of items) {
      while (this.items.length >= this.capacity && !this.abandoned) await new Promise<void>((r) => this.wakeProducers.push(r));
      if (this.abandoned) return false;
      this.items.push(item);
      this.wake();
    }
    return !this.abandoned;
  }

  /** No more items: the consumer ends after the ones queued. */
  close(): void {
    this.closed = true;
    this.wake();
  }

  /** The producer failed: the consumer throws this after the items queued. */
  fail(error: unknown): void {
    this.failure = { error };
    this.close();
  }

  /**
   * The consumer side gives up (its stage failed): queued items are dropped, waiting producers
   * return false at once, and a consumer waiting for items ends.
   */
  stop(): void {
    this.abandoned = true;
    this.items.length = 0;
    this.release();
    this.wake();
  }

  private wake(): void {
    const w = this.wakeConsumer;
    this.wakeConsumer = undefined;
    w?.();
  }

  private release(): void {
    for (const w of this.wakeProducers.splice(0)) w();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    try {
      for (;;) {
        if (this.items.length > 0) {
          const item = this.items.shift()!;
          this.release();
          yield item;
          continue;
        }
        if (this.abandoned) return;
        if (this.closed) {
          if (this.failure) throw this.failure.error;
          return;
        }
        await new Promise<void>((r) => (this.wakeConsumer = r));
      }
    } finally {
      // The consumer stopped (done, broke out, or threw): producers must not wait for it.
      this.abandoned = true;
      this.items.length = 0;
      this.release();
    }
  }
}

/** One item's outcome: its result, or the error it threw (counted, never rethrown). */
export type Settled<T, R> = { readonly item: T; readonly ok: true; readonly value: R } | { readonly item: T; readonly ok: false; readonly error: unknown };

/**
 * Run `fn` on each item with at most `limit` in flight, yielding outcomes in completion order.
 * The source is read only while a slot is free, so an endless or slow source is fine; a source
 * that throws ends the iteration (after the items in flight) with its error.
 */
export async function* mapConcurrent<T, R>(source: AsyncIterable<T>, limit: number, fn: (item: T) => Promise<R>): AsyncGenerator<Settled<T, R>> {
  if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`concurrency must be a whole number >= 1, got ${limit}`);
  type Event = { readonly kind: 'next'; readonly result: IteratorResult<T> } | { readonly kind: 'settled'; readonly key: number; readonly outcome: Settled<T, R> };
  const it = source[Symbol.asyncIterator]();
  const inFlight = new Map<number, Promise<Event>>();
  let pulling: Promise<Event> | undefined;
  let sourceDone = false;
  let key = 0;
  const start = (item: T) => {
    const k = key++;
    inFlight.set(
      k,
      (async (): Promise<Event> => {
        try {
          return { kind: 'settled', key: k, outcome: { item, ok: true, value: await fn(item) } };
        } catch (error) {
          return { kind: 'settled', key: k, outcome: { item, ok: false, error } };
        }
      })(),
    );
  };
  try {
    for (;;) {
      if (!sourceDone && pulling === undefined && inFlight.size < limit) pulling = it.next().then((result): Event => ({ kind: 'next', result }));
      if (pulling === undefined && inFlight.size === 0) return;
      const event = await Promise.race(pulling ? [pulling, ...inFlight.values()] : inFlight.values());
      if (event.kind === 'next') {
        pulling = undefined;
        if (event.result.done) sourceDone = true;
        else start(event.result.value);
      } else {
        inFlight.delete(event.key);
        yield event.outcome;
      }
    }
  } finally {
    // Left early or failed: let the items in flight finish (each is bounded by its own deadlines)
    // so nothing keeps running after the stage has returned.
    await Promise.allSettled(inFlight.values());
    // A source still busy with next() cannot take return() until that settles: ask without
    // waiting (a Channel is stopped by its owner instead).
    if (!sourceDone) {
      const closing = it.return?.();
      if (pulling === undefined) await closing;
      else closing?.catch(() => {});
    }
  }
}
