import * as net from 'node:net';
import ssh2 from 'ssh2';
import type { AuthenticationType, ClientChannel, ConnectConfig, KeyboardInteractiveAuthMethod, Prompt } from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServiceContext } from '../types.js';
import { ADMIN, closeServed, fakeContext, serve, track } from './test-support.js';
import { createSshHandler, identSoftware, sshHandler } from './ssh.js';

const { Client } = ssh2;
type SshClient = InstanceType<typeof Client>;

/** The ssh service of a fake device (see test-support). */
function fakeSsh(banner: Record<string, string> = {}, profileId = 'test-camera') {
  return fakeContext({ port: 22, protocol: 'ssh', auth: 'ssh', banner }, [ADMIN], { id: profileId, type: 'camera' });
}

const clients: SshClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await closeServed();
});

interface Outcome {
  readonly client: SshClient;
  readonly ok: boolean;
  readonly error?: Error & { level?: string };
  readonly hostKey?: Buffer;
}

/** Connect with an ssh2 Client; resolve on 'ready', or on 'error'/'close' before it. */
function connect(port: number, config: Partial<ConnectConfig>): Promise<Outcome> {
  return new Promise((resolve) => {
    const client = new Client();
    clients.push(client);
    let hostKey: Buffer | undefined;
    let error: (Error & { level?: string }) | undefined;
    const done = (ok: boolean): void =>
      resolve({ client, ok, ...(error ? { error } : {}), ...(hostKey ? { hostKey } : {}) });
    client.on('ready', () => done(true));
    client.on('error', (err) => {
      error ??= err;
    });
    client.on('close', () => done(false));
    client.connect({
      host: '127.0.0.1',
      port,
      readyTimeout: 10_000,
      hostVerifier: (key: Buffer) => {
        hostKey = key;
        return true;
      },
      ...config,
    });
  });
}

/** Wait until the collected shell output contains `needle`. */
function until(stream: ClientChannel, needle: string, from: { text: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${needle}; got ${from.text}`)), 5_000);
    const check = (): void => {
      if (from.text.includes(needle)) {
        clearTimeout(timer);
        stream.off('data', check);
        resolve();
      }
    };
    stream.on('data', check);
    check();
  });
}

function shell(client: SshClient, pty: boolean): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    const cb = (err: Error | undefined, stream: ClientChannel): void => (err ? reject(err) : resolve(stream));
    if (pty) client.shell({ term: 'vt100' }, cb);
    else client.shell(false, cb);
  });
}

describe('sshHandler', () => {
  it('sends the profile identification string', async () => {
    const { ctx } = fakeSsh({ serverIdent: 'SSH-2.0-dropbear_2019.78' });
    const port = await serve(sshHandler, ctx);
    const socket = net.connect(port, '127.0.0.1');
    track(socket);
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      socket.on('error', reject);
      socket.on('close', () => reject(new Error(`closed before an identification line; got ${JSON.stringify(text)}`)));
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        const end = text.indexOf('\r\n');
        if (end >= 0) resolve(text.slice(0, end));
      });
    });
    expect(line).toBe('SSH-2.0-dropbear_2019.78');
  });

  it('accepts the right password and runs a do-nothing shell', async () => {
    const { ctx, attempts } = fakeSsh({ motd: 'Welcome\r\n', shellPrompt: '~ # ' });
    const { client, ok } = await connect(await serve(sshHandler, ctx), { username: 'admin', password: 'admin' });
    expect(ok).toBe(true);
    expect(attempts).toEqual([['admin', 'admin']]);

    const stream = await shell(client, true);
    const out = { text: '' };
    stream.on('data', (d: Buffer) => (out.text += d.toString()));
    await until(stream, 'Welcome\r\n~ # ', out);
    stream.write('wget http://127.0.0.1/x\r');
    await until(stream, 'sh: wget: not found\r\n~ # ', out);
    const closed = new Promise((r) => stream.on('close', r));
    stream.write('exit\r');
    await closed;
  });

  it('answers a shell without a pty with plain newlines', async () => {
    const { ctx } = fakeSsh({ motd: 'Hi\r\n' });
    const { client, ok } = await connect(await serve(sshHandler, ctx), { username: 'admin', password: 'admin' });
    expect(ok).toBe(true);
    const stream = await shell(client, false);
    const out = { text: '' };
    stream.on('data', (d: Buffer) => (out.text += d.toString()));
    stream.write('busybox\n');
    await until(stream, 'sh: busybox: not found\n# ', out);
    expect(out.text).toBe('Hi\n# sh: busybox: not found\n# ');
    const closed = new Promise((r) => stream.on('close', r));
    stream.write('logout\n');
    await closed;
  });

  it('sends the preAuth banner before authentication', async () => {
    const { ctx } = fakeSsh({ preAuth: 'Authorized users only\r\n' });
    const port = await serve(sshHandler, ctx);
    const banners: string[] = [];
    const client = new Client();
    clients.push(client);
    client.on('banner', (message: string) => banners.push(message));
    const ready = new Promise<void>((resolve, reject) => {
      client.on('ready', resolve);
      client.on('error', reject);
    });
    client.connect({ host: '127.0.0.1', port, username: 'admin', password: 'admin' });
    await ready;
    expect(banners).toEqual(['Authorized users only\r\n']);
  });

  it('refuses exec', async () => {
    const { ctx } = fakeSsh();
    const { client, ok } = await connect(await serve(sshHandler, ctx), { username: 'admin', password: 'admin' });
    expect(ok).toBe(true);
    const err = await new Promise<Error | undefined>((resolve) => client.exec('id', (e) => resolve(e)));
    expect(err).toBeInstanceOf(Error);
  });

  it('refuses a wrong password', async () => {
    const { ctx, attempts } = fakeSsh();
    const { ok, error } = await connect(await serve(sshHandler, ctx), { username: 'admin', password: 'guess' });
    expect(ok).toBe(false);
    expect(error?.level).toBe('client-authentication');
    expect(attempts).toEqual([['admin', 'guess']]);
  });

  it.each([
    ['admin', true],
    ['wrong', false],
  ])('keyboard-interactive with %s', async (answer, expected) => {
    const { ctx, attempts } = fakeSsh();
    const prompts: Prompt[] = [];
    const method: KeyboardInteractiveAuthMethod = {
      type: 'keyboard-interactive',
      username: 'admin',
      prompt: (_name, _instructions, _lang, asked, finish) => {
        prompts.push(...asked);
        finish([answer]);
      },
    };
    const { ok } = await connect(await serve(sshHandler, ctx), { username: 'admin', authHandler: [method] });
    expect(ok).toBe(expected);
    expect(prompts).toEqual([{ prompt: 'Password: ', echo: false }]);
    expect(attempts).toEqual([['admin', answer]]);
  });

  it('answers "none" with the methods it takes', async () => {
    const { ctx } = fakeSsh();
    const offered: AuthenticationType[][] = [];
    const { ok } = await connect(await serve(sshHandler, ctx), {
      username: 'admin',
      authHandler: (methodsLeft, _partial, next) => {
        if (methodsLeft === null) {
          next({ type: 'none', username: 'admin' });
          return;
        }
        offered.push(methodsLeft);
        next({ type: 'password', username: 'admin', password: 'admin' });
      },
    });
    expect(ok).toBe(true);
    expect(offered).toEqual([['password', 'keyboard-interactive']]);
  });

  it('disconnects after 6 failures', async () => {
    const { ctx, attempts } = fakeSsh();
    let tries = 0;
    const { ok } = await connect(await serve(createSshHandler({ failDelayMs: 0 }), ctx), {
      username: 'admin',
      authHandler: (_methodsLeft, _partial, next) => {
        if (++tries > 20) {
          next(false as unknown as AuthenticationType); // give up (bounded loop)
          return;
        }
        next({ type: 'password', username: 'admin', password: `guess${tries}` });
      },
    });
    expect(ok).toBe(false);
    expect(attempts).toHaveLength(6);
    expect(tries).toBe(6);
  });

  it('keeps one host key per profile', async () => {
    const a = fakeSsh({}, 'profile-a');
    const b = fakeSsh({}, 'profile-b');
    const portA = await serve(sshHandler, a.ctx);
    const portB = await serve(sshHandler, b.ctx);
    const creds = { username: 'admin', password: 'admin' };
    const [a1, a2, b1] = await Promise.all([connect(portA, creds), connect(portA, creds), connect(portB, creds)]);
    expect(a1.hostKey).toBeDefined();
    expect(a1.hostKey?.equals(a2.hostKey ?? Buffer.alloc(0))).toBe(true);
    expect(a1.hostKey?.equals(b1.hostKey ?? Buffer.alloc(0))).toBe(false);
  });

  it('survives garbage, closes every such connection and still serves logins', async () => {
    const { ctx } = fakeSsh();
    const port = await serve(createSshHandler({ idleTimeoutMs: 300 }), ctx);
    let seed = 7;
    const rand = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let closedByServer = 0;
    for (let round = 0; round < 20; round++) {
      const socket = net.connect(port, '127.0.0.1');
      track(socket);
      socket.on('error', () => undefined);
      socket.resume(); // read, so the server's FIN is seen
      const noise = Buffer.alloc(1 + Math.floor(rand() * 2048), 0);
      for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(rand() * 256);
      // Half the rounds start with a valid ident so the garbage reaches the packet parser.
      if (round % 2 === 0) socket.write('SSH-2.0-fuzz\r\n');
      socket.write(noise);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          socket.destroy();
          resolve();
        }, 2_000);
        socket.on('end', () => {
          closedByServer++;
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // A bad ident line or packet length is refused at once; a stream that is merely incomplete
    // (no newline yet, half a packet) waits like OpenSSH would, until the idle timeout.
    expect(closedByServer).toBe(20);
    const { ok } = await connect(port, { username: 'admin', password: 'admin' });
    expect(ok).toBe(true);
  });
});

describe('identSoftware', () => {
  it('strips the protocol prefix and refuses unprintable idents', () => {
    expect(identSoftware('SSH-2.0-OpenSSH_7.4')).toBe('OpenSSH_7.4');
    expect(identSoftware('dropbear')).toBe('dropbear');
    expect(identSoftware('SSH-2.0-OpenSSH_6.0p1 Debian-4+deb7u2')).toBe('OpenSSH_6.0p1 Debian-4+deb7u2');
    expect(identSoftware('SSH-2.0-bad\r\nident')).toBe('dropbear_2019.78');
    expect(identSoftware(undefined)).toBe('dropbear_2019.78');
  });
});
