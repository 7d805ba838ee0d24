import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import type { Connection, ReadResult } from '../../scope/connection.js';
import { bannerPrompts, classifyReply, classifyScreen, lastLine, maxReplyChars, shellPromptOf, withoutEcho } from './classify.js';
import { TelnetClient } from './session.js';
import { createTelnetAccess } from './index.js';
import type { AccessContext } from '../module.js';
import { compileScope, defaultScope } from '../../scope/scope.js';
import { defaultLimits } from '../../scope/connection.js';

const none = new Set<string>();

describe('classifyReply: the fixed order', () => {
  it.each([
    ['\nLogin incorrect\n/ # ', 'failure'], // a failure phrase wins over a prompt at the end
    ['\nroot@cam:~# is mine\nlogin: ', 'login-prompt'],
    ['\n$ > # \nPassword: ', 'password-prompt'],
    ['\n\nBusyBox v1.19.4 built-in shell (ash)\n\n~ # ', 'shell'],
    ['\nWelcome\nroot@svr04:~# ', 'shell'],
    ['\nWAP>', 'shell'],
    ['\n[admin@nas ~]$ ', 'shell'],
    ['\nroot@cam:~# is mine\nsomething else', 'none'], // a prompt character mid reply
    ['\n#####\n', 'none'],
    ['\n-->', 'none'],
    ['', 'none'],
    ['\nToo many failed login attempts; try again in 600 seconds.\n', 'locked'],
    ['\nLogin incorrect\nAccount locked for 5 minutes\n', 'locked'],
    ['\n% Authentication failed\n\nUsername: ', 'failure'],
    ['\nAccess denied >', 'failure'],
  ])('%j → %s', (text, kind) => {
    expect(classifyReply(text, none).kind).toBe(kind);
  });

  it('does not count a prompt the banner already showed', () => {
    const banner = bannerPrompts('BusyBox v1.31\n/ # \nlogin: ');
    expect([...banner]).toEqual(['/ #']);
    expect(classifyReply('\n/ # ', banner).kind).toBe('none');
    expect(classifyReply('\n~ # ', banner).kind).toBe('shell');
  });

  it('reads only the last non-space characters', () => {
    expect(lastLine('a\nb #  \n \n')).toBe('b #');
    expect(shellPromptOf('x\n/ # \n')).toBe('/ #');
    expect(shellPromptOf('# comment\nmore text')).toBeNull();
  });

  it('drops the echo of what was typed', () => {
    expect(withoutEcho('\npa$$\n', 'pa$$')).toBe('\n');
    expect(classifyReply(withoutEcho('pa$$\n', 'pa$$'), none).kind).toBe('none');
    expect(withoutEcho('\nLogin incorrect', 'x')).toBe('\nLogin incorrect');
  });
});

describe('classifyScreen', () => {
  it.each([
    ['LocalHost login: ', 'login'],
    ['\nUser Access Verification\n\nUsername: ', 'login'],
    ['Login:', 'login'],
    ['\nPassword: ', 'password'],
    ['Welcome\nPress Enter to continue...', 'press-enter'],
    ['\nMain Menu\n  1. Status\n  2. Login\nEnter your choice: ', 'menu'],
    ['\n# ', 'shell'],
    ['Welcome user', 'none'],
    ['', 'none'],
  ])('%j → %s', (text, kind) => {
    expect(classifyScreen(text).kind).toBe(kind);
  });

  it('picks the menu entry that logs in', () => {
    expect(classifyScreen('\n[1] Reboot\n[3] Telnet login\nSelect option: ').choice).toBe('3');
  });
});

/** Pieces devices send, good and bad, for the fuzz loop. */
const pieces = [
  'login: ', 'Password: ', 'Login incorrect', '# ', '$ ', '> ', '%', '/ # ', '\n', '\r\n', '\r', '\0', '\x1b[1;32m', '\x1b[0m',
  'Welcome', 'root@dvr:~# ', 'Press Enter', '1. Login', 'Select: ', 'locked', 'too many', '#####', ':', '>', '\t', '\x07', '\xff',
];

function randomText(rng: ReturnType<typeof createRng>): string {
  let s = '';
  const n = rng.int(40);
  for (let i = 0; i < n; i++) s += rng.next() < 0.7 ? rng.pick(pieces) : String.fromCharCode(rng.int(256));
  return s;
}

describe('fuzz: the classifier and the session reader', () => {
  it('classifies random replies without throwing, and a shell verdict is always a new prompt at the end', () => {
    const rng = createRng('telnet-classify-fuzz');
    for (let i = 0; i < 5000; i++) {
      const text = randomText(rng);
      const banner = bannerPrompts(randomText(rng));
      const v = classifyReply(text, banner);
      expect(['locked', 'failure', 'login-prompt', 'password-prompt', 'shell', 'none']).toContain(v.kind);
      expect(typeof v.detail).toBe('string');
      if (v.kind === 'shell') {
        const p = shellPromptOf(text);
        expect(p).not.toBeNull();
        expect(banner.has(p!)).toBe(false);
        expect(/[#$>%]$/.test(lastLine(text))).toBe(true);
      }
      // Whatever precedes it, a failure phrase makes the reply a failure or a lock-out, never a success.
      expect(['failure', 'locked']).toContain(classifyReply(`${text}\nLogin incorrect\n${rng.pick(['# ', '$ ', '/ # ', ''])}`, banner).kind);
      expect(['login', 'password', 'press-enter', 'menu', 'shell', 'none']).toContain(classifyScreen(text).kind);
    }
  });

  it('is fast on long text (bounded work per call)', () => {
    const long = `${'#'.repeat(200_000)}\n${'x'.repeat(200_000)}`;
    expect(classifyReply(long, none).kind).toBe('none');
    expect(classifyScreen(long).kind).toBe('none');
  });

  it('reads 64 KiB sent one byte per chunk without a pass over everything per byte', async () => {
    const chunks = Array.from({ length: 64 * 1024 }, (_, i) => Buffer.of(i % 97 === 0 ? 0x0a : 0x2e));
    const client = new TelnetClient(fakeConnection(chunks, []));
    const w = await client.waitFor((tail) => classifyScreen(tail).kind !== 'none', 1);
    expect(w.end).toBe('closed');
    expect(w.text.length).toBeLessThanOrEqual(maxReplyChars);
  }, 60_000);

  it('reads random telnet byte streams (IAC, SB, garbage) without throwing and keeps text bounded', async () => {
    const rng = createRng('telnet-session-fuzz');
    for (let round = 0; round < 300; round++) {
      const chunks: Buffer[] = Array.from({ length: 1 + rng.int(12) }, () => {
        const bytes: number[] = [];
        const n = rng.int(3000);
        for (let i = 0; i < n; i++) {
          const r = rng.next();
          if (r < 0.05) bytes.push(255, 250 + rng.int(6), rng.int(256));
          else if (r < 0.07) bytes.push(255, 250, 24, 1, 255, 240);
          else bytes.push(rng.int(256));
        }
        return Buffer.from(bytes);
      });
      const written: Buffer[] = [];
      const client = new TelnetClient(fakeConnection(chunks, written));
      const w = await client.waitFor((t) => classifyScreen(t.slice(-1024)).kind !== 'none', 1);
      expect(['matched', 'quiet', 'closed', 'limit', 'error']).toContain(w.end);
      expect(w.text.length).toBeLessThanOrEqual(maxReplyChars);
      expect(client.seen.length).toBeLessThanOrEqual(maxReplyChars);
      // Negotiation replies are bounded too.
      expect(written.reduce((n, b) => n + b.length, 0)).toBeLessThan(256 * 16);
    }
  });
});

describe('fuzz: the whole module over random device conversations', () => {
  it('always ends with a verdict from the closed set, an entry only when weak', async () => {
    const rng = createRng('telnet-module-fuzz');
    const module = createTelnetAccess({ settleMs: 1 });
    const creds = Array.from({ length: 6 }, (_, i) => ({ id: `f${i}`, username: `u${i}`, password: `p${i}` }));
    for (let round = 0; round < 200; round++) {
      const connections = 1 + rng.int(4);
      let opened = 0;
      const ctx: AccessContext = {
        scope: compileScope(defaultScope()),
        limits: defaultLimits,
        pauseMs: 0,
        open: async () => {
          if (++opened > connections) return { status: 'connection-refused', error: 'refused' };
          const chunks = Array.from({ length: rng.int(10) }, () => Buffer.from(randomText(rng), 'latin1'));
          return { status: 'success', connection: fakeConnection(chunks, []) };
        },
      };
      const v = await module.run({ ip: '127.71.3.1', port: 23, observations: [] }, creds, ctx);
      expect(['weak-credential', 'no-weak-credential', 'locked-out', 'unsupported', 'error']).toContain(v.verdict);
      expect(v.entry !== null).toBe(v.verdict === 'weak-credential');
      expect(v.attempts.length).toBeLessThanOrEqual(creds.length);
      expect(v.attempts.filter((a) => a.outcome === 'success').length).toBeLessThanOrEqual(1);
    }
  }, 60_000);
});

/** A Connection that hands out the given chunks, then ends; records what is written. */
function fakeConnection(chunks: readonly Buffer[], written: Buffer[]): Connection {
  let i = 0;
  const read = async (): Promise<ReadResult> => {
    const c = chunks[i++];
    return c ? { status: 'success', data: c } : { status: 'connection-closed', data: Buffer.alloc(0), error: 'end' };
  };
  return {
    ip: '127.71.3.1',
    port: 23,
    tls: undefined,
    bytesReceived: 0,
    write: async (d) => {
      written.push(Buffer.from(d));
      return { status: 'success' };
    },
    read,
    readUntil: read,
    readBytes: read,
    close: () => undefined,
  };
}
