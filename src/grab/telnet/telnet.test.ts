import { afterAll, describe, expect, it } from 'vitest';
import { grabConformance, conformanceLimits } from '../../../test/grab-conformance.js';
import { serveRaw, telnetHandler, type TestServer } from '../../../test/grab-servers.js';
import { createRng } from '../../core/rng.js';
import { compileScope, defaultScope } from '../../scope/scope.js';
import { grabWith } from '../runner.js';
import { promptOf, TelnetReader, telnetModule } from './index.js';

grabConformance(telnetModule);

describe('telnet', () => {
  const scope = compileScope(defaultScope());
  const servers: TestServer[] = [];
  afterAll(async () => void (await Promise.all(servers.map((s) => s.close()))));

  it('negotiates minimally, reads the banner up to the login prompt and sends no credentials', async () => {
    const received: Buffer[] = [];
    const s = await serveRaw((sock) => {
      telnetHandler()(sock);
      sock.on('data', (d: Buffer) => received.push(d));
    });
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, telnetModule);
    expect(obs.status).toBe('success');
    expect(obs.recognised).toBe(true);
    expect(obs.fields).toEqual({
      banner: 'BusyBox v1.19.4 (2014-03-12) built-in shell',
      prompt: 'router login:',
      loginPrompt: true,
      passwordPrompt: false,
      will: ['echo', 'suppress-go-ahead'],
      do: ['terminal-type', 'window-size'],
      text: 'BusyBox v1.19.4 (2014-03-12) built-in shell\r\n\r\nrouter login: ',
    });
    // RFC 1143: refuse TTYPE and NAWS (WONT), accept ECHO and SGA (DO): and nothing else at all.
    const sent = Buffer.concat(received);
    expect([...sent]).toEqual([255, 252, 24, 255, 253, 1, 255, 253, 3, 255, 252, 31]);
  });

  it('a plain-text password prompt without IAC is telnet', async () => {
    const s = await serveRaw((sock) => void sock.write('\r\nUser Access Verification\r\n\r\nPassword: '));
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, telnetModule);
    expect(obs.recognised).toBe(true);
    expect(obs.fields['passwordPrompt']).toBe(true);
    expect(obs.fields['banner']).toBe('User Access Verification');
  });

  it('Japanese banners (UTF-8 and Shift_JIS) are telnet text too', async () => {
    const utf8 = await serveRaw((sock) => void sock.write(Buffer.concat([Buffer.of(255, 251, 1), Buffer.from('ようこそ Aterm へ\r\nlogin: ')])));
    const sjis = await serveRaw((sock) => void sock.write(Buffer.concat([Buffer.of(255, 251, 1), Buffer.from([0x82, 0xe6, 0x82, 0xa4, 0x82, 0xb1, 0x82, 0xbb, 0x0d, 0x0a]), Buffer.from('Password: ')])));
    servers.push(utf8, sjis);
    const a = await grabWith({ scope, ip: utf8.ip, port: utf8.port, limits: conformanceLimits }, telnetModule);
    expect(a.recognised).toBe(true);
    expect(a.fields['banner']).toBe('ようこそ Aterm へ');
    const b = await grabWith({ scope, ip: sjis.ip, port: sjis.port, limits: conformanceLimits }, telnetModule);
    expect(b.recognised).toBe(true);
    expect(b.fields['passwordPrompt']).toBe(true);
  });

  it('an SSH greeting is not telnet', async () => {
    const s = await serveRaw((sock) => void sock.write('SSH-2.0-dropbear_2019.78\r\n'));
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, telnetModule);
    expect(obs.recognised).toBe(false);
    expect(obs.status).toBe('protocol-error');
  });

  it('recognise(): IAC first, a login/password prompt, or a bare root shell', () => {
    const r = (t: string | Buffer) => telnetModule.recognise!(Buffer.isBuffer(t) ? t : Buffer.from(t));
    expect(r(Buffer.of(255, 253, 24))).toBe(true);
    expect(r('\r\nlogin: ')).toBe(true);
    expect(r('root@dvr:~# ')).toBe(true);
    expect(r('# ')).toBe(true);
    expect(r('SSH-2.0-x\r\n')).toBe(false);
    expect(r('<html><body>')).toBe(false);
    expect(r(Buffer.of(255, 0, 1))).toBe(false);
  });

  it('promptOf: login, password and shell prompts; prose is not a prompt', () => {
    expect(promptOf('hello\nlogin: ')).toBe('login:');
    expect(promptOf('Username:')).toBe('Username:');
    expect(promptOf('x\nroot@dvr:~# ')).toBe('root@dvr:~#');
    expect(promptOf('Welcome to the device\n')).toBeNull();
    expect(promptOf('Hello user')).toBeNull();
    expect(promptOf('User Name>')).toBe('User Name>');
  });

  it('TelnetReader is total and bounded on random bytes (fuzz)', () => {
    const rnd = createRng('fuzz-telnet');
    for (let i = 0; i < 1500; i++) {
      const reader = new TelnetReader();
      for (let c = rnd.int(6); c >= 0; c--) {
        // Bias towards IAC so negotiation and subnegotiation paths are walked.
        reader.push(Buffer.from(Array.from({ length: rnd.int(300) }, () => (rnd.int(4) === 0 ? 255 : rnd.int(4) === 0 ? 250 + rnd.int(6) : rnd.int(256)))));
      }
      const { fields } = reader.parse();
      expect(fields.banner.length).toBeLessThanOrEqual(8192);
      expect(fields.will.length).toBeLessThanOrEqual(32);
      expect(fields.do.length).toBeLessThanOrEqual(32);
    }
  });
});
