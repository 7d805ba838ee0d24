/**
 * Default certificates of emulated HTTPS admin UIs. Real devices ship one certificate per model
 * (the same key and subject on every unit, or a per-unit key under the vendor's fixed subject), so
 * the lab makes one per profile and port, with the subject and issuer the profile gives, and keeps
 * it for every device of that model. Made with @peculiar/x509 over WebCrypto; generated once per
 * process (RSA-2048 takes tens of milliseconds) and shared, so a 1,000-device lab stays quick.
 */
import { webcrypto, createHash } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { ServiceProfile } from '../types.js';

/** A certificate and its private key, PEM encoded. */
export interface LabCertificate {
  readonly cert: string;
  readonly key: string;
}

/** What a certificate is made from: the https banner keys of a service. */
export interface CertificateSpec {
  readonly subject: string;
  readonly issuer: string;
  readonly key: 'rsa' | 'ec';
  readonly days: number;
}

/** The certificate spec of an https service (defaults: CN = the model, self-issued, RSA, 10 years). */
export function certificateSpec(service: ServiceProfile, model: string): CertificateSpec {
  const b = service.banner ?? {};
  const subject = b['certSubject'] ?? `CN=${model.replace(/[,=+"\\<>;]/g, ' ').trim() || 'device'}`;
  return {
    subject,
    issuer: b['certIssuer'] ?? subject,
    key: b['certKey'] === 'ec' ? 'ec' : 'rsa',
    days: Math.min(Number(b['certDays'] ?? 3650) || 3650, 36_500),
  };
}

/** Cache key of a spec: same spec, same certificate. */
export function specKey(spec: CertificateSpec): string {
  return JSON.stringify([spec.subject, spec.issuer, spec.key, spec.days]);
}

const generated = new Map<string, Promise<LabCertificate>>();
const contexts = new Map<string, Promise<SecureContext>>();

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}

async function generate(spec: CertificateSpec): Promise<LabCertificate> {
  await import('./reflect-shim.js');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm =
    spec.key === 'ec'
      ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  // A fixed serial per spec, as a model's default certificate has; positive (RFC 5280 §4.1.2.2).
  const serial = `01${createHash('sha256').update(specKey(spec)).digest('hex').slice(0, 30)}`;
  // Back-dated a day so clocks a little behind still accept it.
  const notBefore = new Date(Date.now() - 86_400_000);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: spec.subject,
    issuer: spec.issuer,
    notBefore,
    notAfter: new Date(notBefore.getTime() + spec.days * 86_400_000),
    signingAlgorithm: algorithm,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
  });
  const key = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem'), key: pem('PRIVATE KEY', key) };
}

/** The certificate for a spec, generated once per process. */
export function certificateFor(spec: CertificateSpec): Promise<LabCertificate> {
  const k = specKey(spec);
  let p = generated.get(k);
  if (!p) {
    p = generate(spec);
    generated.set(k, p);
    // A failed generation is not cached, so the next connection tries again.
    p.catch(() => generated.delete(k));
  }
  return p;
}

/** Use certificates made elsewhere (the lab parent hands its own to every shard, so all agree). */
export function adoptCertificates(certs: Readonly<Record<string, LabCertificate>>): void {
  for (const [k, c] of Object.entries(certs)) if (!generated.has(k)) generated.set(k, Promise.resolve(c));
}

/** The TLS server context for a spec, built once per process. */
export function secureContextFor(spec: CertificateSpec): Promise<SecureContext> {
  const k = specKey(spec);
  let p = contexts.get(k);
  if (!p) {
    p = certificateFor(spec).then((c) => createSecureContext({ cert: c.cert, key: c.key }));
    contexts.set(k, p);
    p.catch(() => contexts.delete(k));
  }
  return p;
}

/** The certificates the https services of these devices need, generated now (one per spec). */
export async function certificatesOf(devices: readonly { readonly profile: { readonly model: string; readonly services: readonly ServiceProfile[] } }[]): Promise<Record<string, LabCertificate>> {
  const specs = new Map<string, CertificateSpec>();
  for (const d of devices) {
    for (const s of d.profile.services) {
      if (s.protocol !== 'https') continue;
      const spec = certificateSpec(s, d.profile.model);
      specs.set(specKey(spec), spec);
    }
  }
  const out: Record<string, LabCertificate> = {};
  await Promise.all([...specs].map(async ([k, spec]) => void (out[k] = await certificateFor(spec))));
  return out;
}
