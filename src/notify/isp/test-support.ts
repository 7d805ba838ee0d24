/** Test support for the ISP-side tests: hand-made findings and matches (no session logs needed), a real SMTP server. */
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import type { Finding, FindingKind } from '../../core/records.js';
import type { SubscriberMatch } from './types.js';

/** A finding at ip:port observed at `at`, attributed to `isp`. */
export function testFinding(ip: string, port: number | null, at: string, over: Partial<Finding> = {}): Finding {
  return {
    kind: 'weak-credential' as FindingKind,
    ip,
    port,
    protocol: port === null ? null : 'telnet',
    observedAt: at,
    period: at.slice(0, 7),
    device: { type: 'router', vendor: 'Acme', model: 'AR-100', firmware: '1.0' },
    severity: 'high',
    details: { entry: 'default-0001' },
    evidence: [{ record: 'access-result', id: 1 }],
    surveyId: 1,
    planVersion: '2026.12-1',
    isp: 'isp-a',
    prefixOwner: 'isp-a',
    held: null,
    ...over,
  };
}

/** A finding matched to a subscriber. */
export function testMatch(subscriber: string, finding: Finding): SubscriberMatch {
  return { finding, status: 'matched', subscriber, candidates: [subscriber], reason: null };
}

/** One message a test SMTP server accepted, parsed. */
export interface ReceivedMail {
  readonly envelopeTo: readonly string[];
  readonly mail: ParsedMail;
}

/**
 * A real SMTP server (smtp-server) on a random 127.100–109.x.1 address for the alert tests: it
 * keeps every message, parsed with mailparser; `reject` names recipients it refuses with 550.
 */
export async function startTestSmtp(reject: readonly string[] = []): Promise<{ url: string; received: ReceivedMail[]; close(): Promise<void> }> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 1_000_000,
    onRcptTo(address, _session, cb) {
      cb(reject.includes(address.address) ? Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 }) : null);
    },
    onData(stream, session, cb) {
      simpleParser(stream)
        .then((mail) => {
          received.push({ envelopeTo: session.envelope.rcptTo.map((r) => r.address), mail });
          cb();
        })
        .catch((e: Error) => cb(e));
    },
  });
  const host = `127.${100 + Math.floor(Math.random() * 10)}.${Math.floor(Math.random() * 256)}.1`;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.server.address() as { port: number }).port;
  return {
    url: `smtp://${host}:${port}`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
