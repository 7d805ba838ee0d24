/**
 * Only src/scope/ opens outbound connections: every source file under src/, test/ and bench/ is
 * parsed with TypeScript's own parser, and an import (static, dynamic, require, re-export) of a
 * socket or network-client module anywhere else fails, unless the allowlist below names the file
 * or folder with its reason. So does process.binding outside guard.ts, the global fetch, and
 * importing the guard's internal socket module from outside src/scope/.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

/** Modules that open sockets or speak a network protocol as a client. */
const NETWORK_MODULES = [
  'net', 'node:net', 'tls', 'node:tls', 'dgram', 'node:dgram',
  'http', 'node:http', 'https', 'node:https', 'http2', 'node:http2',
  'ssh2', 'undici',
  // HTTP client packages, in case one is ever added.
  'axios', 'got', 'node-fetch', 'cross-fetch', 'isomorphic-fetch', 'superagent', 'needle', 'request', 'ky', 'ofetch', 'phin', 'bent', 'wreck',
  // Database and mail clients open sockets too.
  'pg', 'postgres', 'nodemailer',
];

interface Allowed {
  /** A file, or a folder when it ends with "/". */
  readonly path: string;
  /** Modules it may import ('fetch': may call fetch()); undefined = any of NETWORK_MODULES. */
  readonly modules?: readonly string[];
  readonly reason: string;
}

const ALLOWLIST: readonly Allowed[] = [
  { path: 'src/notify/mail.test.ts', modules: [], reason: 'starts a real smtp-server on 127.9x that the notify mailer delivers to; imports no network module' },
  { path: 'src/cli/commands/notify.test.ts', modules: [], reason: 'starts a real smtp-server on 127.9x for the notify run with --smtp; imports no network module' },
  { path: 'src/notify/api.ts', modules: [], reason: "the ISPs' notify API server (hono on @hono/node-server, 127.0.0.1 by default); imports no client module" },
  { path: 'src/notify/mail.ts', modules: ['nodemailer'], reason: "sends notification mail to the operator's SMTP relay (--smtp), not to survey targets" },
  { path: 'src/notify/api.test.ts', modules: ['node:http'], reason: "node:http client requests to the notify API server the test starts on 127.9x (loopback)" },
  { path: 'src/scope/', reason: 'the scope guard: the one place outbound sockets are opened' },
  { path: 'src/store/', modules: ['pg'], reason: "the store's PostgreSQL driver (the database, not survey targets)" },
  { path: 'src/lab/', reason: "the lab's emulated devices are servers (net, ssh2 Server); its own tests talk to them on loopback" },
  { path: 'test/helpers.ts', modules: ['node:net'], reason: 'listenSpread creates loopback listeners (servers)' },
  { path: 'test/guard.test.ts', modules: ['node:net', 'node:tls'], reason: 'loopback servers (plain and TLS) the guard connects to' },
  { path: 'test/scope-safety.test.ts', modules: ['node:net'], reason: 'loopback listeners that count the connections they get (servers)' },
  { path: 'src/pipeline/stages.test.ts', modules: ['node:net'], reason: 'loopback listeners (via test/helpers listenSpread) for a streaming survey (servers)' },
  { path: 'test/real-daemons.ts', modules: [], reason: 'starts real servers (Debian daemons) as processes in its own namespace; imports no network module' },
  { path: 'test/real-daemons.test.ts', modules: [], reason: 'real daemons in its own namespace, reached only by the CLI run inside it; imports no network module' },
  { path: 'bench/access-servers.ts', modules: [], reason: 'starts real weak-credential servers (busybox telnetd, dropbear, lighttpd) as processes in its own namespace; imports no network module' },
  { path: 'test/access-servers.ts', modules: [], reason: 're-exports bench/access-servers.ts (real servers in their own namespace); imports no network module' },
  { path: 'test/reference-access.test.ts', modules: [], reason: 'real weak-credential servers in its own namespace, reached only by hydra, medusa and python3 http.client run inside it; imports no network module' },
  { path: 'test/darknet-real-tools.test.ts', modules: [], reason: 'runs masscan, zmap and tcpdump as processes in its own namespace (scanning only its lo); imports no network module' },
  { path: 'test/grab-servers.ts', modules: ['node:net', 'node:http', 'ssh2'], reason: 'loopback servers the grab tests talk to (hostile peers, telnet, FTP, MQTT, ssh2 Server, node:http)' },
  { path: 'src/grab/ssh/ssh2-session.ts', modules: ['ssh2'], reason: "drives ssh2's Client over the guarded Connection (a Duplex passed as sock): it never dials" },
  { path: 'src/access/ssh/client.ts', modules: ['ssh2'], reason: "drives ssh2's Client over the guarded Connection (the Duplex of ssh2-session.ts) for login tries: it never dials" },
  { path: 'src/access/ssh/ssh.test.ts', modules: ['ssh2'], reason: 'ssh2 Servers on loopback (partial success, publickey only, OTP prompt) the ssh access module logs in to' },
  { path: 'src/access/ssh/daemons.test.ts', modules: [], reason: 'real dropbear and OpenSSH in its own namespace, reached only by test/ssh-access-probe.ts run inside it; imports no network module' },
  { path: 'src/grab/http/http.test.ts', modules: ['node:http', 'node:https', 'node:net'], reason: 'loopback web servers (well-formed and hostile) the http/https grab modules read' },
  { path: 'src/grab/rtsp/rtsp.test.ts', modules: ['node:net'], reason: 'loopback RTSP servers (well-formed and hostile) the rtsp grab module reads' },
  { path: 'src/access/telnet/hostile.test.ts', modules: ['node:net'], reason: 'hand-made hostile telnet devices (servers) on loopback that the telnet access module logs in to' },
  { path: 'src/access/telnet/lab.test.ts', modules: [], reason: "starts the lab's telnet devices in-process (servers, through src/lab/); imports no network module" },
  { path: 'src/access/telnet/busybox.test.ts', modules: [], reason: 'real busybox telnetd in its own namespace, reached only by netns-probe.ts run inside it; imports no network module' },
  { path: 'test/access-lockout.test.ts', modules: [], reason: "starts the lab's lock-out devices in-process (servers, through src/lab/) for every access module; imports no network module" },
  { path: 'test/access-lab.test.ts', modules: [], reason: "starts a small lab in-process (servers, through src/lab/) to check the access scoring helpers; imports no network module" },
  { path: 'src/notify/isp/alerts.ts', modules: ['nodemailer'], reason: 'ISP-side alerts, tasks and SIer notices are handed to the SMTP server given with --smtp (nodemailer)' },
  { path: 'src/notify/isp/test-support.ts', modules: [], reason: 'a real SMTP server (smtp-server) on 127.100-109.x for the alert tests; imports no network client module' },
  { path: 'src/notify/isp/alerts.test.ts', modules: [], reason: 'starts a real SMTP server on 127.10x (through test-support.ts) that the alerts are sent to; imports no network module' },
  { path: 'src/notify/isp/verify.test.ts', modules: [], reason: 'starts a real SMTP server on 127.10x (through test-support.ts) that re-alerts are sent to; imports no network module' },
  { path: 'src/cli/commands/isp-cases.test.ts', modules: [], reason: 'starts a real SMTP server on 127.10x (through src/notify/isp/test-support.ts) that the CLI process mails to; imports no network module' },
  { path: 'src/lab/owners.test.ts', modules: [], reason: 'imports the alert module (nodemailer) but sends through an in-memory transport; opens no socket' },
  { path: 'test/notify-cli.test.ts', modules: ['node:http'], reason: 'a real smtp-server on 127.120-124.x the spawned notify and isp alert mail to, and node:http client requests to the spawned notify serve on 127.124.x (loopback)' },
  { path: 'src/access/http/hand-made.test.ts', modules: ['node:http', 'node:net'], reason: 'loopback web servers (awkward logins and hostile peers) the HTTP access modules log in to' },
  { path: 'src/web/public/optout.ts', modules: ['nodemailer'], reason: "opt-out confirmation mails to the ISP abuse contact, through the operator's SMTP relay (WebOptions.smtp), not to survey targets" },
  { path: 'src/flows/collector.ts', modules: ['node:dgram'], reason: 'the flow collector: a UDP socket that binds and receives exports (a server); it sends nothing' },
  { path: 'src/flows/collector.test.ts', modules: ['node:dgram'], reason: 'sends NetFlow/IPFIX packets to the collector the test binds on 127.0.0.1' },
  { path: 'test/flows-cli.test.ts', modules: ['node:dgram'], reason: 'sends IPFIX packets to the flows collect CLI the test started on 127.0.0.1' },
  { path: 'test/flows-real-tools.test.ts', modules: ['node:dgram'], reason: "binds iotclean's collector socket on 127.0.0.1 for softflowd's export" },
  { path: 'bench/flows.ts', modules: ['node:dgram'], reason: "binds the collector socket on 127.0.0.1 that softflowd exports to, beside nfcapd" },
  { path: 'bench/flows-pcap.ts', modules: ['node:dgram'], reason: 'binds a counting UDP socket on 127.0.0.1 for softflowd -r to export to' },
  { path: 'src/flows/liveness.test.ts', modules: ['node:net'], reason: 'loopback listeners (servers) that stop and come back, for the liveness checks' },
  { path: 'src/share/taxii-client.ts', modules: ['fetch'], reason: "pulls a collection from the TAXII server of another ISP the operator names (a peer's sharing server, not a survey target)" },
  { path: 'test/share-taxii.test.ts', modules: ['fetch'], reason: 'TAXII requests to the server the test serves on 127.0.0.1' },
  { path: 'test/web-dashboard.test.ts', modules: ['pg'], reason: 'opens the test PostgreSQL database directly to build a store as it was before migration 0012 (backfill test)' },
  { path: 'test/demo-serve.test.ts', modules: ['fetch'], reason: "logs in to the web server the demo it started serves on 127.0.0.1" },
  { path: 'test/web-portal.browser.test.ts', modules: ['fetch'], reason: 'ISP API requests with a token issued in the browser, to the web server the test serves on 127.0.0.1' },
  { path: 'test/web-governance.test.ts', modules: ['node:net'], reason: 'a loopback listener (server) on 127.x that an approved survey finds and an unapproved one never reaches' },
  { path: 'test/web-governance.browser.test.ts', modules: ['node:net'], reason: 'a loopback listener (server) on 127.x for the survey run after approval in the browser' },
  { path: 'test/web-public.test.ts', modules: ['node:net'], reason: 'a loopback listener (server) on 127.66.x that the self-check reports open' },
  { path: 'test/web-public.browser.test.ts', modules: ['node:net'], reason: 'a loopback listener (server) on 127.64.x that the self-check run from the browser reports open' },
  { path: 'test/web-public-survey.test.ts', modules: ['node:net'], reason: 'loopback listeners on 127.65.x that count connections, to prove a survey skips excluded addresses (servers)' },
];

/** Only this file may reach for Node's internal bindings (the raw tcp_wrap engine). */
const BINDING_ALLOWED = 'src/scope/guard.ts';
/** The guard's internal module that hands out a raw socket; never imported from outside src/scope/. */
const INTERNAL_SOCKET = 'src/scope/socket.ts';

function isNetworkModule(spec: string): string | undefined {
  return NETWORK_MODULES.find((m) => spec === m || spec.startsWith(`${m}/`));
}

function allowed(file: string, module: string): boolean {
  return ALLOWLIST.some((a) => (a.path.endsWith('/') ? file.startsWith(a.path) : file === a.path) && (!a.modules || a.modules.includes(module)));
}

/** Repo-relative path an import of `spec` from `file` resolves to (".js" written for ".ts"). */
function resolveRelative(file: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return normalize(join(dirname(file), spec)).split(sep).join('/').replace(/\.js$/, '.ts');
}

/** Every way `text` (the source of repo-relative `file`) breaks the rules; empty when none. */
export function violations(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const where = (node: ts.Node) => `${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;

  const checkSpecifier = (spec: string, node: ts.Node, how: string) => {
    const module = isNetworkModule(spec);
    if (module && !allowed(file, module)) found.push(`${where(node)}: ${how} of "${spec}" outside src/scope/`);
    if (resolveRelative(file, spec) === INTERNAL_SOCKET && !file.startsWith('src/scope/')) {
      found.push(`${where(node)}: ${how} of the guard's internal socket module`);
    }
  };
  const literal = (e: ts.Expression | undefined) => (e && (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) ? e.text : undefined);

  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      // A type-only import gives no capability at run time.
      const typeOnly = node.importClause?.isTypeOnly === true;
      const spec = literal(node.moduleSpecifier);
      if (spec !== undefined && !typeOnly) checkSpecifier(spec, node, 'import');
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
      const spec = literal(node.moduleSpecifier);
      if (spec !== undefined) checkSpecifier(spec, node, 're-export');
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && !node.isTypeOnly) {
      const spec = literal(node.moduleReference.expression);
      if (spec !== undefined) checkSpecifier(spec, node, 'import = require');
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if (isDynamicImport || isRequire) {
        const spec = literal(node.arguments[0]);
        const how = isDynamicImport ? 'dynamic import' : 'require';
        if (spec !== undefined) checkSpecifier(spec, node, how);
        else found.push(`${where(node)}: ${how} with a computed module name (cannot be checked)`);
      }
      const name = ts.isIdentifier(callee) ? callee.text : ts.isPropertyAccessExpression(callee) ? callee.name.text : undefined;
      if (name === 'fetch' && !file.startsWith('src/scope/') && !allowed(file, 'fetch')) found.push(`${where(node)}: fetch() is an HTTP client outside src/scope/`);
    }
    // process.binding / process._linkedBinding / process['binding'], called or merely taken.
    if (ts.isPropertyAccessExpression(node) || ts.isElementAccessExpression(node)) {
      const prop = ts.isPropertyAccessExpression(node) ? node.name.text : literal(node.argumentExpression);
      if ((prop === 'binding' || prop === '_linkedBinding') && /\bprocess\b/.test(node.expression.getText(source)) && file !== BINDING_ALLOWED) {
        found.push(`${where(node)}: process.${prop} outside ${BINDING_ALLOWED}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' ? [] : sourceFiles(p);
    return /\.(c|m)?ts$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

describe('import allowlist: only src/scope/ opens outbound connections', () => {
  const files = ['src', 'test', 'bench'].flatMap((d) => sourceFiles(join(repoRoot, d))).map((f) => relative(repoRoot, f).split(sep).join('/'));

  it('holds for every source file under src/, test/ and bench/', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain('src/scope/guard.ts');
    expect(files.some((f) => f.startsWith('bench/'))).toBe(true);
    const all = files.flatMap((f) => violations(f, readFileSync(join(repoRoot, f), 'utf8')));
    expect(all).toEqual([]);
  });

  it('has no stale entries: every allowlisted path exists', () => {
    for (const a of ALLOWLIST) expect(files.some((f) => (a.path.endsWith('/') ? f.startsWith(a.path) : f === a.path)), a.path).toBe(true);
  });

  it.each([
    ['src/discover/engine.ts', "import * as net from 'node:net';"],
    ['src/discover/engine.ts', "import net from 'net';"],
    ['src/grab/http/index.ts', "import { request } from 'node:https';"],
    ['src/grab/ssh/index.ts', "import { Client } from 'ssh2';"],
    ['src/grab/http/index.ts', "import { fetch } from 'undici';"],
    ['src/grab/http/index.ts', "import 'undici/lib/core/connect.js';"],
    ['src/discover/worker.ts', "const tls = await import('node:tls');"],
    ['src/discover/worker.ts', "const dgram = require('dgram');"],
    ['src/notify/send.ts', "export { connect } from 'node:net';"],
    ['src/notify/send.ts', "import net = require('node:net');"],
    ['src/notify/send.ts', "import nodemailer from 'nodemailer';"],
    ['src/discover/engine.ts', "import pg from 'pg';"],
    ['bench/discover.ts', "import * as http from 'node:http';"],
    ['test/cli.test.ts', "import { connect } from 'node:net';"],
    ['test/helpers.ts', "import * as tls from 'node:tls';"],
    ['src/discover/worker.ts', "const b = process.binding('tcp_wrap');"],
    ['src/discover/worker.ts', "const b = (process as unknown as { binding(n: string): unknown }).binding('tcp_wrap');"],
    ['src/discover/worker.ts', "const b = process['binding']('tcp_wrap');"],
    ['src/grab/http/index.ts', "const r = await fetch('http://127.0.0.1/');"],
    ['src/grab/http/index.ts', "const r = await globalThis.fetch('http://127.0.0.1/');"],
    ['src/grab/http/index.ts', 'const m = await import(name);'],
    ['src/grab/telnet/index.ts', "import { dialTcp } from '../../scope/socket.js';"],
  ])('refuses %s containing: %s', (file, code) => {
    expect(violations(file, code)).toHaveLength(1);
  });

  it.each([
    ['src/discover/engine.ts', "import type { Socket } from 'node:net';"],
    ['src/discover/engine.ts', "import { openConnection } from '../scope/connection.js';"],
    ['src/discover/engine.ts', "const s = 'import * as net from \"node:net\"';"],
    ['src/scope/guard.ts', "import * as net from 'node:net'; const b = process.binding('tcp_wrap');"],
    ['src/scope/connection.ts', "import { dialTcp } from './socket.js';"],
    ['src/lab/services/telnet.ts', "import * as net from 'node:net';"],
    ['src/store/store.ts', "import pg from 'pg';"],
    ['test/helpers.ts', "import * as net from 'node:net';"],
  ])('allows %s containing: %s', (file, code) => {
    expect(violations(file, code)).toEqual([]);
  });

  it('process.binding is refused even in other src/scope/ files', () => {
    expect(violations('src/scope/connection.ts', "process.binding('tcp_wrap');")).toHaveLength(1);
  });
});
