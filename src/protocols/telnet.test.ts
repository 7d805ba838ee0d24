import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import {
  OptionNegotiator,
  TelnetDecoder,
  TelnetOption,
  encodeCommand,
  encodeNegotiation,
  encodeSubnegotiation,
  escapeIac,
  telnetCommandName,
  telnetOptionName,
  telnetOptions,
  type TelnetEvent,
} from './telnet.js';

// Written out as numbers here, not taken from the module, so a wrong constant there fails a test.
const IAC = 255;
const DONT = 254;
const DO = 253;
const WONT = 252;
const WILL = 251;
const SB = 250;
const SE = 240;
const AYT = 246;
const ECHO = 1;
const SGA = 3;
const TTYPE = 24;
const NAWS = 31;

/** Decode chunk by chunk with one decoder, merging adjacent data events (their split is not meaningful). */
function decodeAll(chunks: readonly Uint8Array[], decoder = new TelnetDecoder()): TelnetEvent[] {
  const merged: TelnetEvent[] = [];
  for (const c of chunks) {
    for (const e of decoder.push(c)) {
      const last = merged[merged.length - 1];
      if (e.kind === 'data' && last?.kind === 'data') {
        merged[merged.length - 1] = { kind: 'data', bytes: Buffer.concat([last.bytes, e.bytes]) };
      } else merged.push(e);
    }
  }
  return merged;
}

const bytewise = (b: Buffer): Buffer[] => [...b].map((x) => Buffer.of(x));

/** Random bytes biased towards telnet command bytes, so every decoder state is reached. */
function noise(rand: () => number, length: number): Buffer {
  const special = [IAC, IAC, IAC, SB, SE, WILL, WONT, DO, DONT, 0, 13, 10, 241, 244, AYT];
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = rand() < 0.35 ? (special[Math.floor(rand() * special.length)] ?? 0) : Math.floor(rand() * 256);
  return out;
}

const sample = Buffer.from([0x61, IAC, IAC, 0x62, IAC, WILL, NAWS, IAC, SB, NAWS, 0, 80, IAC, IAC, 24, IAC, SE, IAC, 241, 0x63]);
const sampleEvents: TelnetEvent[] = [
  { kind: 'data', bytes: Buffer.from([0x61, 0xff, 0x62]) },
  { kind: 'negotiate', verb: 'will', option: NAWS },
  { kind: 'subnegotiation', option: NAWS, data: Buffer.from([0, 80, 0xff, 24]) },
  { kind: 'command', command: 241 },
  { kind: 'data', bytes: Buffer.from([0x63]) },
];

describe('TelnetDecoder', () => {
  it('decodes negotiation, subnegotiation, IAC IAC and commands', () => {
    expect(decodeAll([sample])).toEqual(sampleEvents);
  });

  it('decodes the same fed byte by byte', () => {
    expect(decodeAll(bytewise(sample))).toEqual(sampleEvents);
  });

  it('keeps a sequence cut at every possible point across two chunks', () => {
    for (let cut = 0; cut <= sample.length; cut++) {
      expect(decodeAll([sample.subarray(0, cut), sample.subarray(cut)]), `cut at ${cut}`).toEqual(sampleEvents);
    }
  });

  it('says when a chunk ends inside a sequence, and completes it with the next chunk', () => {
    const d = new TelnetDecoder();
    expect(d.push(Buffer.of(0x41, IAC))).toEqual([{ kind: 'data', bytes: Buffer.from('A') }]);
    expect(d.pending).toBe(true);
    expect(d.push(Buffer.of(DO))).toEqual([]);
    expect(d.pending).toBe(true);
    expect(d.push(Buffer.of(ECHO, 0x42))).toEqual([
      { kind: 'negotiate', verb: 'do', option: ECHO },
      { kind: 'data', bytes: Buffer.from('B') },
    ]);
    expect(d.pending).toBe(false);
    // A subnegotiation open at the end of a chunk is pending, even with its IAC alone at the end.
    expect(d.push(Buffer.of(IAC, SB, TTYPE, 0, 0x78, IAC))).toEqual([]);
    expect(d.pending).toBe(true);
    expect(d.push(Buffer.of(SE))).toEqual([{ kind: 'subnegotiation', option: TTYPE, data: Buffer.of(0, 0x78) }]);
    expect(d.pending).toBe(false);
  });

  it('caps a subnegotiation payload and recovers from IAC <cmd> inside SB', () => {
    const long = Buffer.alloc(10_000, 0x41);
    const events = decodeAll([Buffer.from([IAC, SB, TTYPE]), long, Buffer.from([IAC, SE, 0x7a])]);
    expect(events[0]).toMatchObject({ kind: 'subnegotiation', option: TTYPE });
    expect((events[0] as { data: Buffer }).data.length).toBe(64);
    expect(events[1]).toEqual({ kind: 'data', bytes: Buffer.from('z') });
    expect(decodeAll([Buffer.from([IAC, SB, TTYPE]), long], new TelnetDecoder(16))).toEqual([]);
    // A lost SE: IAC WILL inside SB ends the SB and is read as a negotiation.
    expect(decodeAll([Buffer.from([IAC, SB, NAWS, 1, 2, IAC, WILL, SGA, 0x78])])).toEqual([
      { kind: 'negotiate', verb: 'will', option: SGA },
      { kind: 'data', bytes: Buffer.from('x') },
    ]);
  });

  it('gives the same events however the stream is split (seeded fuzz)', () => {
    const rand = createRng(0x1023).next;
    for (let round = 0; round < 300; round++) {
      const stream = noise(rand, 1 + Math.floor(rand() * 400));
      const whole = decodeAll([stream]);
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + Math.floor(rand() * 8);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      expect(decodeAll(chunks)).toEqual(whole);
      if (round % 30 === 0) expect(decodeAll(bytewise(stream))).toEqual(whole);
    }
  });
});

describe('telnet encoding', () => {
  it('doubles IAC in data and leaves other bytes alone', () => {
    expect(escapeIac(Buffer.of(1, IAC, 2, IAC, IAC))).toEqual(Buffer.of(1, IAC, IAC, 2, IAC, IAC, IAC, IAC));
    expect(escapeIac(Buffer.from('plain'))).toEqual(Buffer.from('plain'));
    expect(escapeIac(new Uint8Array([IAC]))).toEqual(Buffer.of(IAC, IAC));
  });

  it('round-trips any data through escapeIac and the decoder (seeded)', () => {
    const rand = createRng('iac-roundtrip').next;
    for (let round = 0; round < 200; round++) {
      const data = noise(rand, 1 + Math.floor(rand() * 200));
      const events = decodeAll([escapeIac(data)]);
      expect(events).toEqual([{ kind: 'data', bytes: data }]);
    }
  });

  it('encodes negotiations, commands and subnegotiations with IAC in the payload', () => {
    expect(encodeNegotiation('will', ECHO)).toEqual(Buffer.of(IAC, WILL, ECHO));
    expect(encodeNegotiation('wont', ECHO)).toEqual(Buffer.of(IAC, WONT, ECHO));
    expect(encodeNegotiation('do', NAWS)).toEqual(Buffer.of(IAC, DO, NAWS));
    expect(encodeNegotiation('dont', NAWS)).toEqual(Buffer.of(IAC, DONT, NAWS));
    expect(encodeCommand(AYT)).toEqual(Buffer.of(IAC, AYT));
    // NAWS 255 x 24 (RFC 1073): the width's 255 byte is doubled.
    const naws = encodeSubnegotiation(NAWS, Buffer.of(0, 255, 0, 24));
    expect(naws).toEqual(Buffer.of(IAC, SB, NAWS, 0, 255, 255, 0, 24, IAC, SE));
    expect(decodeAll([naws])).toEqual([{ kind: 'subnegotiation', option: NAWS, data: Buffer.of(0, 255, 0, 24) }]);
  });

  it('names options and commands from the table', () => {
    expect(telnetOptionName(ECHO)).toBe('echo');
    expect(telnetOptionName(TelnetOption.NAWS)).toBe('window-size');
    expect(telnetOptionName(TTYPE)).toBe('terminal-type');
    expect(telnetOptionName(200)).toBe('option-200');
    expect(telnetCommandName(AYT)).toBe('AYT');
    expect(telnetCommandName(100)).toBe('command-100');
    expect(new Set(telnetOptions.map((o) => o.code)).size).toBe(telnetOptions.length);
  });
});

describe('OptionNegotiator (RFC 1143)', () => {
  const policy = { local: new Set([ECHO, SGA]), remote: new Set([NAWS]) };

  it('agrees to supported options, refuses the rest, and acknowledges a switch off once', () => {
    const n = new OptionNegotiator(policy);
    expect(n.receive('do', ECHO)).toEqual({ side: 'local', option: ECHO, before: 'no', after: 'yes', reply: Buffer.of(IAC, WILL, ECHO) });
    expect(n.receive('do', TTYPE).reply).toEqual(Buffer.of(IAC, WONT, TTYPE));
    expect(n.state('local', TTYPE)).toBe('no');
    expect(n.receive('will', NAWS).reply).toEqual(Buffer.of(IAC, DO, NAWS));
    expect(n.receive('will', SGA).reply).toEqual(Buffer.of(IAC, DONT, SGA));
    // Already on: a repeated DO gets no answer, so two peers cannot loop.
    expect(n.receive('do', ECHO).reply).toBeUndefined();
    expect(n.receive('dont', ECHO)).toMatchObject({ after: 'no', reply: Buffer.of(IAC, WONT, ECHO) });
    // Already off: a repeated DONT gets no answer either.
    expect(n.receive('dont', ECHO).reply).toBeUndefined();
    expect(n.receive('wont', TTYPE).reply).toBeUndefined();
  });

  it('takes the answer to its own request silently, whichever way it goes', () => {
    const n = new OptionNegotiator(policy);
    expect(n.request('local', ECHO, true)).toEqual(Buffer.of(IAC, WILL, ECHO));
    expect(n.state('local', ECHO)).toBe('wantyes');
    expect(n.request('local', ECHO, true)).toBeUndefined(); // already asked
    expect(n.receive('do', ECHO)).toMatchObject({ before: 'wantyes', after: 'yes', reply: undefined });
    expect(n.request('local', ECHO, false)).toEqual(Buffer.of(IAC, WONT, ECHO));
    expect(n.receive('dont', ECHO)).toMatchObject({ before: 'wantno', after: 'no', reply: undefined });

    expect(n.request('remote', TTYPE, true)).toEqual(Buffer.of(IAC, DO, TTYPE)); // asking works beyond the policy
    expect(n.receive('wont', TTYPE)).toMatchObject({ before: 'wantyes', after: 'no', reply: undefined });
    // DONT answered by WILL is an error in RFC 1143: the option ends up off, with no reply.
    n.request('remote', NAWS, true);
    n.receive('will', NAWS);
    n.request('remote', NAWS, false);
    expect(n.receive('will', NAWS)).toMatchObject({ before: 'wantno', after: 'no', reply: undefined });
  });

  it('two peers settle without a loop and agree on every option (seeded)', () => {
    const rand = createRng('negotiation').next;
    const a = new OptionNegotiator(policy);
    const b = new OptionNegotiator({ local: new Set([NAWS, SGA]), remote: new Set([ECHO]) });
    const options = [ECHO, SGA, NAWS, TTYPE];
    const verbOf: Record<number, 'will' | 'wont' | 'do' | 'dont'> = { [WILL]: 'will', [WONT]: 'wont', [DO]: 'do', [DONT]: 'dont' };
    for (let round = 0; round < 500; round++) {
      const [from, to] = rand() < 0.5 ? [a, b] : [b, a];
      const option = options[Math.floor(rand() * options.length)] ?? ECHO;
      const first = from.request(rand() < 0.5 ? 'local' : 'remote', option, rand() < 0.5);
      // Deliver messages back and forth until both are quiet.
      let inFlight: { to: OptionNegotiator; bytes: Buffer } | undefined = first ? { to, bytes: first } : undefined;
      let messages = 0;
      while (inFlight) {
        expect(++messages).toBeLessThanOrEqual(3);
        const out = inFlight.to.receive(verbOf[inFlight.bytes[1] ?? 0] ?? 'do', inFlight.bytes[2] ?? 0);
        inFlight = out.reply ? { to: inFlight.to === a ? b : a, bytes: out.reply } : undefined;
      }
      for (const o of options) {
        expect(a.state('local', o), `a local ${o}`).toBe(b.state('remote', o));
        expect(a.state('remote', o), `a remote ${o}`).toBe(b.state('local', o));
        expect(['yes', 'no']).toContain(a.state('local', o));
      }
    }
  });
});
