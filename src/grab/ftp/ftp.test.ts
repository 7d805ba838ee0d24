import { afterAll, describe, expect, it } from 'vitest';
import { grabConformance, conformanceLimits } from '../../../test/grab-conformance.js';
import { ftpHandler, serveRaw, type TestServer } from '../../../test/grab-servers.js';
import { createRng } from '../../core/rng.js';
import { compileScope, defaultScope } from '../../scope/scope.js';
import { grabEndpoint, grabWith } from '../runner.js';
import { ftpModule, isSmtpGreeting, parseFtpReply } from './index.js';

grabConformance(ftpModule);

describe('ftp', () => {
  const scope = compileScope(defaultScope());
  const servers: TestServer[] = [];
  afterAll(async () => void (await Promise.all(servers.map((s) => s.close()))));

  it('reads a multi-line 220 whole (RFC 959 §4.2) and quits', async () => {
    let quit = false;
    const s = await serveRaw((sock) => {
      ftpHandler()(sock);
      sock.on('data', (d: Buffer) => (quit ||= d.toString().includes('QUIT')));
    });
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, ftpModule);
    expect(obs.status).toBe('success');
    expect(obs.recognised).toBe(true);
    expect(obs.fields).toEqual({ code: 220, banner: '220-Welcome to the NAS\n220-Second line\n220 ProFTPD 1.3.5 Server ready.' });
    expect(quit).toBe(true);
  });

  it('a single-line greeting and a 421 refusal are FTP replies too', async () => {
    const s = await serveRaw((sock) => void sock.end('421 Too many connections\r\n'));
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, ftpModule);
    expect(obs.recognised).toBe(true);
    expect(obs.fields).toEqual({ code: 421, banner: '421 Too many connections' });
  });

  it('an SMTP server (also "220") is not claimed as FTP, on its own or through detection', async () => {
    const s = await serveRaw((sock) => void sock.write('220 mail.example.jp ESMTP Postfix (Debian/GNU)\r\n'));
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, ftpModule);
    expect(obs).toMatchObject({ recognised: false, status: 'protocol-error' });
    const detected = await grabEndpoint({ scope, ip: s.ip, port: s.port, service: 'unknown', limits: conformanceLimits });
    expect(detected.map((o) => [o.module, o.recognised])).toEqual([['generic', false]]);
    expect(isSmtpGreeting('220 (vsFTPd 3.0.3)')).toBe(false);
  });

  it('parseFtpReply: lines between may be anything; the block ends at "ddd "', () => {
    expect(parseFtpReply('220-a\r\n  b\r\n220 c\r\n')).toEqual({ code: 220, lines: ['220-a', '  b', '220 c'], complete: true });
    expect(parseFtpReply('220-a\r\n220-b\r\n')?.complete).toBe(false);
    expect(parseFtpReply('SSH-2.0-x\r\n')).toBeNull();
    expect(parseFtpReply('220 ok')?.complete).toBe(false);
  });

  it('parseFtpReply is total on random input (fuzz)', () => {
    const rnd = createRng('fuzz-ftp');
    const pieces = ['220', '-', ' ', '\r\n', '\n', 'x', '999', '220-', '220 '];
    for (let i = 0; i < 3000; i++) {
      const text = Array.from({ length: rnd.int(40) }, () => (rnd.int(3) === 0 ? String.fromCharCode(rnd.int(256)) : rnd.pick(pieces))).join('');
      const r = parseFtpReply(text);
      if (r) expect(r.code).toBeGreaterThanOrEqual(100);
    }
  });
});
