/**
 * Device profiles are data: one JSON file per model in src/lab/profiles/, validated here when the
 * lab loads them. A bad file is refused with its name and the offending field, never half-used.
 *
 * Banner keys by protocol (all values are strings, because banners are presentation):
 * - telnet: preLogin, loginPrompt, passwordPrompt, motd, shellPrompt, ... (read by services/telnet.ts)
 * - ssh:    serverIdent ("SSH-2.0-dropbear_2019.78"), motd (read by services/ssh.ts)
 * - http:   server, title, realm, algorithms ("SHA-256,MD5"), cookie, heading, header:<Name>
 * - rtsp:   server, realm, basic ("true" also offers Basic), stream (path of the one stream)
 * - endless: mode ("telnet" | "http"), line, chunkBytes, intervalMs, capBytes
 * - garbage: chunkBytes, intervalMs, capBytes
 * - tarpit: idleSeconds
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, basename } from 'node:path';
import { z } from 'zod';
import { IotcleanError } from '../core/errors.js';
import type { DeviceProfile, LabAuth, LabProtocol } from './types.js';

const protocols = ['telnet', 'ssh', 'http', 'rtsp', 'tarpit', 'garbage', 'endless'] as const satisfies readonly LabProtocol[];
const auths = [
  'none',
  'telnet-login',
  'ssh',
  'http-basic',
  'http-digest',
  'http-form',
  'rtsp-digest',
] as const satisfies readonly LabAuth[];

/** Which auth each protocol can present; anything else is a profile mistake. */
const authsByProtocol: Readonly<Record<LabProtocol, readonly LabAuth[]>> = {
  telnet: ['telnet-login', 'none'],
  ssh: ['ssh'],
  http: ['none', 'http-basic', 'http-digest', 'http-form'],
  rtsp: ['rtsp-digest', 'none'],
  tarpit: ['none'],
  garbage: ['none'],
  endless: ['none'],
};

const numeric = /^[1-9]\d{0,8}$/;

/**
 * Banner keys the lab's own handlers read, with a check on the value. telnet and ssh belong to
 * their handlers, which may read more keys, so they are left open.
 */
const bannerKeys: Readonly<Partial<Record<LabProtocol, Readonly<Record<string, RegExp>>>>> = {
  http: {
    server: /^.{1,200}$/,
    title: /^.{1,200}$/,
    realm: /^[^"\\\r\n]{1,120}$/,
    algorithms: /^(SHA-256|MD5)(,(SHA-256|MD5))?$/,
    cookie: /^[A-Za-z0-9_-]{1,40}$/,
    heading: /^.{1,200}$/,
  },
  rtsp: {
    server: /^.{1,200}$/,
    realm: /^[^"\\\r\n]{1,120}$/,
    basic: /^(true|false)$/,
    stream: /^\/[\x21-\x7e]{0,120}$/,
  },
  endless: {
    mode: /^(telnet|http)$/,
    line: /^[^\r\n]{1,200}$/,
    chunkBytes: numeric,
    intervalMs: numeric,
    capBytes: numeric,
  },
  garbage: { chunkBytes: numeric, intervalMs: numeric, capBytes: numeric },
  tarpit: { idleSeconds: numeric },
};

const credentialSchema = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().max(64),
});

const serviceSchema = z
  .strictObject({
    port: z.int().min(1).max(65535),
    protocol: z.enum(protocols),
    auth: z.enum(auths),
    banner: z.record(z.string(), z.string().max(4096)).optional(),
  })
  .superRefine((s, ctx) => {
    if (!authsByProtocol[s.protocol].includes(s.auth)) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth'],
        message: `auth "${s.auth}" does not fit protocol "${s.protocol}" (use one of ${authsByProtocol[s.protocol].join(', ')})`,
      });
    }
    const known = bannerKeys[s.protocol];
    if (!known || !s.banner) return;
    for (const [key, value] of Object.entries(s.banner)) {
      // Extra HTTP response headers are data too: "header:X-Frame-Options": "SAMEORIGIN".
      if (s.protocol === 'http' && /^header:[A-Za-z0-9-]{1,60}$/.test(key) && !/[\r\n]/.test(value)) continue;
      const rule = known[key];
      if (!rule) {
        ctx.addIssue({ code: 'custom', path: ['banner', key], message: `unknown banner key for ${s.protocol} (known: ${Object.keys(known).join(', ')})` });
      } else if (!rule.test(value)) {
        ctx.addIssue({ code: 'custom', path: ['banner', key], message: `bad value ${JSON.stringify(value)}` });
      }
    }
  });

/** The zod schema of one profile file. */
export const profileSchema = z
  .strictObject({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes'),
    type: z.enum(['router', 'camera', 'dvr', 'nas', 'iot', 'other']),
    vendor: z.string().min(1).max(80),
    model: z.string().min(1).max(80),
    firmware: z.string().min(1).max(80),
    services: z.array(serviceSchema).min(1).max(16),
    weakCredentials: z.array(credentialSchema).max(64),
    behaviour: z.enum(['normal', 'honeypot', 'lockout']).optional(),
    lockoutAfter: z.int().min(1).max(1000).optional(),
    lockoutSeconds: z.int().min(1).max(86_400).optional(),
  })
  .superRefine((p, ctx) => {
    const seen = new Set<number>();
    p.services.forEach((s, i) => {
      if (seen.has(s.port)) ctx.addIssue({ code: 'custom', path: ['services', i, 'port'], message: `port ${s.port} appears twice` });
      seen.add(s.port);
    });
    if (p.behaviour === 'lockout' && p.lockoutAfter === undefined) {
      ctx.addIssue({ code: 'custom', path: ['lockoutAfter'], message: 'required when behaviour is "lockout"' });
    }
  });

// Compile-time check that a parsed profile is a DeviceProfile.
const asProfile = (p: z.infer<typeof profileSchema>): DeviceProfile => p;

/** Validate one profile document; `file` names it in the error. */
export function parseProfile(data: unknown, file: string): DeviceProfile {
  const result = profileSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    throw new IotcleanError('E_LAB', `bad device profile: field ${field}: ${issue?.message ?? 'invalid'}`, {
      file,
      hint: 'fix the profile file; its fields are described in src/lab/profiles.ts',
    });
  }
  const profile = asProfile(result.data);
  const expected = basename(file, '.json');
  if (file.endsWith('.json') && profile.id !== expected) {
    throw new IotcleanError('E_LAB', `bad device profile: field id: "${profile.id}" differs from the file name`, {
      file,
      hint: `name the file ${profile.id}.json or set id to "${expected}"`,
    });
  }
  return profile;
}

/**
 * Where the profile files are: next to this module when running from source, and the source
 * folder when running compiled from dist/ (tsc does not copy data files).
 */
export function defaultProfilesDir(): string {
  const candidates = [
    fileURLToPath(new URL('./profiles/', import.meta.url)),
    fileURLToPath(new URL('../../../src/lab/profiles/', import.meta.url)),
  ];
  for (const dir of candidates) if (existsSync(dir)) return dir;
  throw new IotcleanError('E_LAB', 'device profile folder not found', { hint: `looked in ${candidates.join(', ')}` });
}

/** Load and validate every *.json profile in a folder, sorted by id. */
export function loadProfiles(dir: string = defaultProfilesDir()): readonly DeviceProfile[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  if (files.length === 0) throw new IotcleanError('E_LAB', 'no device profiles found', { file: dir });
  return files.map((f) => {
    const file = join(dir, f);
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new IotcleanError('E_LAB', `bad device profile: not JSON (${(e as Error).message})`, { file });
    }
    return parseProfile(data, file);
  });
}
