import { afterAll, describe, expect, it } from 'vitest';
import { compileScope, defaultScope } from '../../scope/scope.js';
import { grabConformance, conformanceLimits } from '../../../test/grab-conformance.js';
import { serveRaw, type TestServer } from '../../../test/grab-servers.js';
import { createRng } from '../../core/rng.js';
import { grabWith } from '../runner.js';
import { printable } from '../text.js';
import type { Connection, ReadResult } from '../../scope/connection.js';
import { genericModule, genericReadBytes, readFirstBytes } from './index.js';

grabConformance(genericModule);

describe('generic', () => {
  const scope = compileScope(defaultScope());
  const servers: TestServer[] = [];
  afterAll(async () => void (await Promise.all(servers.map((s) => s.close()))));

  it('records the first bytes as printable text and never claims a protocol', async () => {
    const s = await serveRaw((sock) => void sock.write(Buffer.concat([Buffer.from('MikroTik\r\n'), Buffer.of(0, 1, 0xff)])));
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, genericModule);
    expect(obs.status).toBe('success');
    expect(obs.recognised).toBe(false);
    expect(obs.fields).toEqual({ text: 'MikroTik\\r\\n\\x00\\x01\\xff', bytes: 13 });
  });

  it('keeps at most genericReadBytes of an endless banner', async () => {
    const s = await serveRaw((sock) => void sock.write(Buffer.alloc(200_000, 'B')));
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, genericModule);
    expect(obs.fields['bytes']).toBe(genericReadBytes);
    expect(String(obs.fields['text']).length).toBe(genericReadBytes);
  });

  it('stops at the first chunk that ends a line or a prompt, not at the idle timeout', async () => {
    const fakeConn = (chunks: string[]): Connection => {
      const queue = chunks.map((c) => Buffer.from(c));
      const read = async (): Promise<ReadResult> => {
        const next = queue.shift();
        return next ? { status: 'success', data: next } : { status: 'io-timeout', data: Buffer.alloc(0) };
      };
      return { readUntil: read } as unknown as Connection;
    };
    expect((await readFirstBytes(fakeConn(['220 ready', '\r\n', 'more\r\n']), 1024)).data.toString()).toBe('220 ready\r\n');
    expect((await readFirstBytes(fakeConn(['Login: ', 'x']), 1024)).data.toString()).toBe('Login: ');
    expect((await readFirstBytes(fakeConn(['ab', 'cd']), 1024))).toEqual({ data: Buffer.from('abcd'), status: 'success' });
    expect((await readFirstBytes(fakeConn([]), 1024)).status).toBe('io-timeout');
  });

  it('printable() is bounded and total on random bytes (fuzz)', () => {
    const rnd = createRng('fuzz-printable');
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(Array.from({ length: rnd.int(600) }, () => rnd.int(256)));
      const max = 1 + rnd.int(400);
      const text = printable(bytes, max);
      expect(text.length).toBeLessThanOrEqual(max);
      expect(text).toMatch(/^[\x20-\x7e]*$/);
    }
  });
});
