/**
 * SSH wire parsing for the grab, written from RFC 4253: the identification line (§4.2), the
 * binary packet (§6) and SSH_MSG_KEXINIT's name-lists (§7.1), and the algorithm name at the head
 * of a host key blob (§6.6). Pure functions over untrusted bytes: they return null on anything
 * malformed and never throw.
 */
import { createHash } from 'node:crypto';
import type { SshHostKey } from '../fields.js';

/** RFC 4253 §4.2: the identification line is at most 255 characters with CR LF. */
export const maxIdentChars = 255;
/** RFC 4253 §6.1: implementations must handle packets of 35000 bytes; more is refused here. */
export const maxPacketBytes = 35_000;
/** Names kept per name-list, and characters per name (RFC 4251 §6 allows 64). */
const maxNames = 64;
const maxNameChars = 64;

const SSH_MSG_KEXINIT = 20;

export interface SshIdent {
  readonly ident: string;
  readonly protoVersion: string;
  readonly software: string;
  readonly comments: string | null;
}

/** Parse "SSH-protoversion-softwareversion SP comments" (RFC 4253 §4.2); null when it is not one. */
export function parseIdent(line: string): SshIdent | null {
  const ident = line.replace(/\r?\n$/, '').replace(/\r$/, '');
  if (!ident.startsWith('SSH-') || ident.length > maxIdentChars) return null;
  const m = /^SSH-([^-\s]+)-(\S*)(?: (.*))?$/.exec(ident);
  if (!m) return null;
  // Printable US-ASCII only; the rest is not an identification line (and is not kept as text).
  if (/[^\x20-\x7e]/.test(ident)) return null;
  return { ident, protoVersion: m[1] ?? '', software: m[2] ?? '', comments: m[3] ?? null };
}

/**
 * Where the identification line ends in the bytes so far: lines before it are allowed (RFC 4253
 * §4.2, "other lines of data" before the version string). Returns the offset just past its LF and
 * the line, or null while it has not arrived.
 */
export function findIdent(bytes: Buffer): { readonly end: number; readonly lineStart: number; readonly line: string } | null {
  let start = 0;
  for (;;) {
    const lf = bytes.indexOf(0x0a, start);
    if (lf < 0) return null;
    const line = bytes.subarray(start, lf + 1).toString('latin1');
    if (line.startsWith('SSH-')) return { end: lf + 1, lineStart: start, line };
    start = lf + 1;
  }
}

export interface KexInit {
  readonly kexAlgorithms: readonly string[];
  readonly hostKeyAlgorithms: readonly string[];
  /** Server to client (what we would receive with); client-to-server lists are normally the same. */
  readonly ciphers: readonly string[];
  readonly macs: readonly string[];
  readonly compression: readonly string[];
}

/** The length of the first binary packet in `bytes` (4 + packet_length), or -1 when it has not all arrived, or 0 when malformed. */
export function packetLength(bytes: Buffer): number {
  if (bytes.length < 5) return -1;
  const len = bytes.readUInt32BE(0);
  if (len < 5 || len > maxPacketBytes) return 0;
  return bytes.length >= 4 + len ? 4 + len : -1;
}

/** Parse an unencrypted binary packet holding SSH_MSG_KEXINIT (RFC 4253 §6, §7.1); null otherwise. */
export function parseKexInitPacket(packet: Buffer): KexInit | null {
  if (packet.length < 5) return null;
  const len = packet.readUInt32BE(0);
  const padding = packet[4] ?? 0;
  if (len > maxPacketBytes || 4 + len > packet.length || padding + 1 > len) return null;
  const payload = packet.subarray(5, 4 + len - padding);
  if (payload[0] !== SSH_MSG_KEXINIT || payload.length < 17) return null;
  let at = 17; // message byte + 16-byte cookie
  const lists: string[][] = [];
  for (let i = 0; i < 10; i++) {
    if (at + 4 > payload.length) return null;
    const n = payload.readUInt32BE(at);
    at += 4;
    if (at + n > payload.length) return null;
    const text = payload.subarray(at, at + n).toString('latin1');
    at += n;
    // RFC 4251 §5: names are US-ASCII, comma-separated, non-empty.
    if (/[^\x21-\x7e]/.test(text)) return null;
    lists.push(text === '' ? [] : text.split(',').slice(0, maxNames).map((s) => s.slice(0, maxNameChars)));
  }
  const [kex = [], hostKey = [], , cipherSc = [], , macSc = [], , compSc = []] = lists;
  return { kexAlgorithms: kex, hostKeyAlgorithms: hostKey, ciphers: cipherSc, macs: macSc, compression: compSc };
}

/** The algorithm name at the head of a public key blob (RFC 4253 §6.6 "string"), or null. */
export function hostKeyAlgorithm(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const n = blob.readUInt32BE(0);
  if (n === 0 || n > maxNameChars || 4 + n > blob.length) return null;
  const name = blob.subarray(4, 4 + n).toString('latin1');
  return /^[\x21-\x7e]+$/.test(name) ? name : null;
}

/** The host key as OpenSSH prints it: "SHA256:" + unpadded base64 of sha256(blob). */
export function hostKeyOf(blob: Buffer): SshHostKey {
  const digest = createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
  return { algorithm: hostKeyAlgorithm(blob) ?? 'unknown', sha256: `SHA256:${digest}` };
}
