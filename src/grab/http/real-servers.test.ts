/**
 * The http and https modules against real web servers from Debian packages, started here on
 * loopback with throw-away configs: lighttpd (http: Server header, title, favicon file) and nginx (https with an openssl-made self-signed certificate, and a Basic
 * challenge). Each server runs in the foreground as a child of its test and is stopped in afterEach;
 * a missing binary skips its suite with a message.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openConnection, type ConnectionLimits } from '../../scope/connection.js';
import { compileScope, defaultScope } from '../../scope/scope.js';
import type { HttpFields } from '../fields.js';
import type { GrabModule } from '../module.js';
import { httpModule, httpsModule } from './index.js';
import { shodanFaviconHash } from './mmh3.js';
import { httpFieldsSchema } from './schema.js';

const scope = compileScope(defaultScope());
const ip = '127.63.41.1';
const limits: ConnectionLimits = { connectTimeoutMs: 3000, firstByteTimeoutMs: 3000, idleTimeoutMs: 3000, deadlineMs: 10_000, maxBytes: 256 * 1024 };
const icon = Buffer.from(Array.from({ length: 1150 }, (_, i) => (i * 131 + 7) & 0xff));
const children: ChildProcess[] = [];
let dir = '';

/** A port in this file's own range, derived from the pid so parallel runs rarely meet. */
const portBase = 20_000 + (process.pid % 20_000);

async function grab(module: GrabModule, port: number): Promise<HttpFields> {
  const opened = await openConnection(scope, ip, port, limits, { tls: module.tls });
  if (opened.status !== 'success') throw new Error(opened.error);
  const o = await module.grab(opened.connection, { target: { ip, port }, limits, reconnect: (x) => openConnection(scope, ip, port, limits, { tls: x?.tls ?? module.tls }) });
  expect(o).toMatchObject({ status: 'success', recognised: true });
  return httpFieldsSchema.parse(o.fields) as HttpFields;
}

/** Wait until the port accepts (bounded: 100 tries). */
async function ready(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const o = await openConnection(scope, ip, port, limits);
    if (o.status === 'success') return o.connection.close();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} never opened`);
}

function start(command: string, args: readonly string[]): ChildProcess {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.on('data', () => {});
  children.push(child);
  return child;
}

const version = (cmd: string, args: string[], re: RegExp) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return re.exec(`${r.stdout}${r.stderr}`)?.[1];
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'iotclean-http-real-'));
  mkdirSync(join(dir, 'www', 'img'), { recursive: true });
  writeFileSync(join(dir, 'www', 'index.html'), '<html><head><title>Real &amp; Small</title><link rel="icon" href="/img/site.ico"></head><body>hi</body></html>');
  writeFileSync(join(dir, 'www', 'img', 'site.ico'), icon);
});

afterEach(async () => {
  const running = children.splice(0).filter((c) => c.exitCode === null && c.signalCode === null);
  const exited = running.map((c) => new Promise((r) => c.once('exit', r)));
  // nginx runs without a master (master_process off): a worker clears its environment, so the
  // suite's process marker could not find one left behind. SIGTERM, then SIGKILL if one lingers.
  for (const c of running) c.kill('SIGTERM');
  const late = setTimeout(() => running.forEach((c) => c.kill('SIGKILL')), 5000);
  await Promise.all(exited);
  clearTimeout(late);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const lighttpd = '/usr/sbin/lighttpd';
describe.skipIf(!existsSync(lighttpd))('lighttpd (Debian package)', () => {
  it('gives product and version, the title and the linked favicon', async () => {
    const port = portBase + 1;
    writeFileSync(
      join(dir, 'lighttpd.conf'),
      [
        `server.document-root = "${dir}/www"`,
        `server.bind = "${ip}"`,
        `server.port = ${port}`,
        `server.errorlog = "${dir}/lighttpd.err"`,
        'index-file.names = ( "index.html" )',
        'mimetype.assign = ( ".html" => "text/html", ".ico" => "image/x-icon" )',
      ].join('\n'),
    );
    const child = start(lighttpd, ['-D', '-f', join(dir, 'lighttpd.conf')]);
    await ready(port, child);
    const f = await grab(httpModule, port);
    expect(f.server).toBe(`lighttpd/${version(lighttpd, ['-v'], /lighttpd\/([\d.]+)/)}`);
    expect(f).toMatchObject({ status: 200, title: 'Real & Small' });
    expect(f.favicon).toEqual({ path: '/img/site.ico', mmh3: shodanFaviconHash(icon), md5: createHash('md5').update(icon).digest('hex'), bytes: icon.length });
  });
});

const nginx = '/usr/sbin/nginx';
describe.skipIf(!existsSync(nginx) || !existsSync('/usr/bin/openssl'))('nginx over TLS (Debian package)', () => {
  it('gives product and version, the self-signed certificate, and a Basic challenge after a same-host redirect', async () => {
    const port = portBase + 2;
    const made = spawnSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=nas.local/O=Example NAS', '-days', '30', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')]);
    expect(made.status).toBe(0);
    writeFileSync(join(dir, 'htpasswd'), 'admin:$apr1$abcdefgh$Zl5dvEvzcrGYqL3YjOyLw/\n');
    writeFileSync(
      join(dir, 'nginx.conf'),
      `user root;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx.err;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/t1; proxy_temp_path ${dir}/t2; fastcgi_temp_path ${dir}/t3; uwsgi_temp_path ${dir}/t4; scgi_temp_path ${dir}/t5;
  server {
    listen ${ip}:${port} ssl;
    ssl_certificate ${dir}/c.pem;
    ssl_certificate_key ${dir}/k.pem;
    location = / { return 302 /admin/; }
    location /admin/ { auth_basic "NAS Admin"; auth_basic_user_file ${dir}/htpasswd; root ${dir}/www; }
  }
}
`,
    );
    const child = start(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;']);
    await ready(port, child);
    const f = await grab(httpsModule, port);
    expect(f.server).toBe(`nginx/${version(nginx, ['-v'], /nginx\/([\d.]+)/)}`);
    expect(f).toMatchObject({ scheme: 'https', status: 401, path: '/admin/', redirects: ['/admin/'], wwwAuthenticate: [{ scheme: 'basic', realm: 'NAS Admin', algorithm: null }] });
    expect(f.certificate).toMatchObject({ selfSigned: true });
    expect(f.certificate?.subject).toContain('CN=nas.local');
    expect(f.tlsVersion).toMatch(/^TLSv1\.[23]$/);
  });
});
