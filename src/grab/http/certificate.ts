/**
 * The TLS certificate fields of an https observation, from what the guard's connection recorded.
 * Devices present self-signed certificates; "self-signed" here means the subject equals the issuer
 * and the signature verifies with the certificate's own public key (node:crypto X509Certificate,
 * a cheap check next to the handshake).
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from '../../scope/connection.js';
import type { CertificateFields } from '../fields.js';
import { cleanText } from './response.js';

const bound = (s: string | undefined, max = 1024): string => cleanText(s ?? '').slice(0, max);

/** Whether a DER certificate (base64) is signed by its own key; false when it cannot be read. */
export function verifiesWithOwnKey(derBase64: string): boolean {
  try {
    const cert = new X509Certificate(Buffer.from(derBase64, 'base64'));
    return cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

/** The certificate fields of a peer certificate. */
export function certificateFields(peer: PeerCertificate): CertificateFields {
  return {
    subject: bound(peer.subject),
    issuer: bound(peer.issuer),
    subjectAltName: peer.subjectAltName ? bound(peer.subjectAltName, 4096) : null,
    serialNumber: bound(peer.serialNumber, 128),
    validFrom: bound(peer.validFrom, 64),
    validTo: bound(peer.validTo, 64),
    selfSigned: peer.subject === peer.issuer && verifiesWithOwnKey(peer.der),
    // Lower-case hex without colons, as x509 tools print it.
    sha256: peer.fingerprint256.replace(/:/g, '').toLowerCase(),
  };
}
