import { afterAll, describe, expect, it } from 'vitest';
import { grabConformance, conformanceLimits } from '../../../test/grab-conformance.js';
import { serveRaw, serveSsh, type TestServer } from '../../../test/grab-servers.js';
import { createRng } from '../../core/rng.js';
import { compileScope, defaultScope } from '../../scope/scope.js';
import { grabWith } from '../runner.js';
import { sshModule } from './index.js';
import { findIdent, hostKeyAlgorithm, hostKeyOf, packetLength, parseIdent, parseKexInitPacket } from './wire.js';

grabConformance(sshModule);

describe('ssh', () => {
  const scope = compileScope(defaultScope());
  const servers: TestServer[] = [];
  afterAll(async () => void (await Promise.all(servers.map((s) => s.close()))));

  it('ident, KEXINIT lists, host key fingerprint and auth methods; only "none" tried', async () => {
    const s = await serveSsh({ ident: 'dropbear_2019.78', methods: ['password', 'publickey'], preLines: 'Welcome to the router\r\n' });
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, sshModule);
    expect(obs.error).toBeUndefined();
    expect(obs.status).toBe('success');
    expect(obs.recognised).toBe(true);
    const f = obs.fields;
    expect(f['ident']).toBe('SSH-2.0-dropbear_2019.78');
    expect(f['protoVersion']).toBe('2.0');
    expect(f['software']).toBe('dropbear_2019.78');
    expect(f['comments']).toBeNull();
    expect(f['kexAlgorithms']).toContain('curve25519-sha256');
    expect(f['hostKeyAlgorithms']).toContain('ssh-ed25519');
    expect((f['ciphers'] as string[]).length).toBeGreaterThan(0);
    expect((f['macs'] as string[]).length).toBeGreaterThan(0);
    expect(f['compression']).toContain('none');
    expect(f['hostKey']).toEqual(hostKeyOf(s.hostKeyBlob));
    expect((f['hostKey'] as { algorithm: string }).algorithm).toBe('ssh-ed25519');
    expect(f['authMethods']).toEqual(['password', 'publickey']);
    expect(f['noneAccepted']).toBe(false);
    expect(s.triedMethods).toEqual(['none']);
  });

  it('a server that accepts "none" is recorded as such', async () => {
    const s = await serveSsh({ ident: 'OpenSSH_8.4p1 Debian-5', acceptNone: true });
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, sshModule);
    expect(obs.fields['noneAccepted']).toBe(true);
    expect(obs.fields['software']).toBe('OpenSSH_8.4p1');
    expect(obs.fields['comments']).toBe('Debian-5');
    expect(s.triedMethods).toEqual(['none']);
  });

  it('an identification line followed by garbage keeps the ident, status protocol-error', async () => {
    const s = await serveRaw((sock) => void sock.write(Buffer.concat([Buffer.from('SSH-2.0-Cisco-1.25\r\n'), Buffer.alloc(64, 0xee)])));
    servers.push(s);
    const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: conformanceLimits }, sshModule);
    expect(obs.recognised).toBe(true);
    expect(obs.fields['software']).toBe('Cisco-1.25');
    expect(obs.fields['hostKey']).toBeNull();
    expect(obs.status).toBe('protocol-error');
  });

  it('an identification line and then random packets: ssh2 fails cleanly every time (fuzz)', async () => {
    const rnd = createRng('fuzz-ssh-session');
    const fast = { ...conformanceLimits, idleTimeoutMs: 300, deadlineMs: 1_500 };
    for (let i = 0; i < 10; i++) {
      const body = Buffer.from(Array.from({ length: rnd.int(3000) }, () => rnd.int(256)));
      // A plausible packet header half the time, so ssh2's packet parser gets past the length.
      const head = rnd.int(2) ? Buffer.from([0, 0, body.length >> 8, body.length & 255, rnd.int(16), rnd.pick([20, 21, 30, 31, 1, 2])]) : Buffer.alloc(0);
      const s = await serveRaw((sock) => void sock.write(Buffer.concat([Buffer.from('SSH-2.0-fuzz_1.0\r\n'), head, body])));
      servers.push(s);
      const obs = await grabWith({ scope, ip: s.ip, port: s.port, limits: fast }, sshModule);
      expect(obs.recognised).toBe(true);
      expect(obs.fields['software']).toBe('fuzz_1.0');
      expect(obs.fields['authMethods']).toBeNull();
    }
  });

  it('parseIdent follows RFC 4253 §4.2', () => {
    expect(parseIdent('SSH-1.99-OpenSSH_3.9p1\r\n')).toEqual({ ident: 'SSH-1.99-OpenSSH_3.9p1', protoVersion: '1.99', software: 'OpenSSH_3.9p1', comments: null });
    expect(parseIdent('SSH-2.0-x\x00y')).toBeNull();
    expect(parseIdent(`SSH-2.0-${'a'.repeat(300)}`)).toBeNull();
    expect(parseIdent('HTTP/1.1 200 OK')).toBeNull();
  });

  it('wire parsers are total on random bytes (fuzz)', () => {
    const rnd = createRng('fuzz-ssh');
    for (let i = 0; i < 3000; i++) {
      const body = Buffer.from(Array.from({ length: rnd.int(400) }, () => rnd.int(256)));
      // Half the cases look like a KEXINIT packet header so the name-list walk is exercised.
      const packet = rnd.int(2) ? Buffer.concat([Buffer.from([0, 0, (body.length + 2) >> 8, (body.length + 2) & 255, rnd.int(8), 20]), body]) : body;
      expect(() => {
        packetLength(packet);
        parseKexInitPacket(packet);
        hostKeyAlgorithm(packet);
        findIdent(packet);
        parseIdent(packet.toString('latin1'));
      }).not.toThrow();
    }
  });
});
