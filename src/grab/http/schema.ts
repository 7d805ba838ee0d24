/**
 * The http/https module's output schema as data (zmap's fields[] idea): what the runner or the
 * store can check an observation's fields against, and what tests hold every outcome to. Strings
 * from devices are bounded here as in the module, so a bug that lets one grow is caught.
 */
import { z } from 'zod';
import type { HttpFields } from '../fields.js';

const text = (max: number) => z.string().max(max).refine((s) => !s.includes('\0'), 'no NUL');

export const certificateFieldsSchema = z.strictObject({
  subject: text(1024),
  issuer: text(1024),
  subjectAltName: text(4096).nullable(),
  serialNumber: text(128),
  validFrom: text(64),
  validTo: text(64),
  selfSigned: z.boolean(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

/** Schema of HttpFields (src/grab/fields.ts). */
export const httpFieldsSchema = z.strictObject({
  scheme: z.enum(['http', 'https']),
  status: z.number().int().min(100).max(999),
  statusLine: text(512),
  headers: z.record(z.string().max(256), text(64 * 1024)),
  server: text(64 * 1024).nullable(),
  title: text(256).nullable(),
  body: text(8 * 1024),
  bodyBytes: z.number().int().min(0),
  bodyComplete: z.boolean().optional(),
  wwwAuthenticate: z.array(z.strictObject({ scheme: text(32), realm: text(256).nullable(), algorithm: text(32).nullable() })),
  loginForm: z
    .strictObject({ action: text(1024).nullable(), method: text(16), fields: z.array(z.strictObject({ name: text(128), type: text(32) })).max(32) })
    .nullable(),
  favicon: z.strictObject({ path: text(2048), mmh3: z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1), md5: z.string().regex(/^[0-9a-f]{32}$/), bytes: z.number().int().min(1) }).nullable(),
  certificate: certificateFieldsSchema.nullable(),
  tlsVersion: text(32).nullable(),
  redirects: z.array(text(2048)).max(3),
  redirectNotFollowed: text(1024).nullable().optional(),
  path: text(2048),
}) satisfies z.ZodType<HttpFields>;
