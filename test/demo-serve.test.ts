/**
 * `npm start` on a terminal ends by serving the dashboard: here `--serve yes` stands in for the
 * terminal. The printed demo account logs in over HTTP, and Ctrl-C (SIGINT) stops the server and
 * the lab with exit code 0.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withOwnOrigin } from '../src/web/test-support.js';
import { runCli, startCli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'iotclean-demo-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('iotclean demo --serve yes', () => {
  it('serves the lab survey with fresh demo accounts until Ctrl-C', async () => {
    const labDir = join(dir, 'lab');
    const child = startCli(['demo', '--devices', '60', '--network', '127.93.0.0/20', '--dir', labDir, '--db', join(dir, 'demo.db'), '--weeks', '0', '--serve', 'yes', '--port', '0']);
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        child.stderr!.on('data', (d: Buffer) => {
          stderr += d.toString();
          if (/Ctrl-C stops the server/.test(stderr)) resolve(stderr);
        });
        void exited.then((code) => reject(new Error(`demo exited (${code}) before serving:\n${stderr}`)));
      });
      const url = /dashboard: (http:\/\/127\.0\.0\.1:\d+)\/ops/.exec(banner)![1]!;
      const [, name, password] = /^ +(demo-analyst) +(\S+) +analyst$/m.exec(banner)!;
      const login = await fetch(`${url}/login`, { method: 'POST', redirect: 'manual', headers: withOwnOrigin(new Headers({ 'content-type': 'application/x-www-form-urlencoded' }), 'POST', url), body: new URLSearchParams({ name: name!, password: password! }) });
      expect(login.status).toBe(303);
      expect(login.headers.get('location')).toBe('/ops');
      const wrong = await fetch(`${url}/login`, { method: 'POST', redirect: 'manual', headers: withOwnOrigin(new Headers({ 'content-type': 'application/x-www-form-urlencoded' }), 'POST', url), body: new URLSearchParams({ name: name!, password: 'not-the-printed-one' }) });
      expect(wrong.status).toBe(400);
      // One ISP account per participating ISP is printed too.
      expect(banner).toMatch(/^ +demo-\S+ +\S+ +isp \(\S+\)$/m);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      const status = await runCli(['lab', 'status', '--dir', labDir]);
      expect(status.stdout).toContain('no lab running');
    } finally {
      child.kill('SIGKILL');
    }
  }, 300_000);
});
