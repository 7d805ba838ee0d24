/**
 * The lab's mail server: a real SMTP server (smtp-server) on loopback that keeps every message it
 * accepts, in memory and as an .eml file per message, so the demo can show the alerts an ISP would
 * send and tests can read them back. It accepts any recipient at the lab's `.invalid` domains
 * (RFC 2606: never deliverable anywhere else) and refuses the rest, as a mail host for those
 * domains would.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { IotcleanError } from '../core/errors.js';

/** One message as received: envelope and the raw RFC 5322 text. */
export interface LabMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly raw: Buffer;
  readonly receivedAt: string;
  /** The .eml file it was written to, when the mailbox has a directory. */
  readonly file: string | null;
}

export interface LabMailbox {
  /** smtp://127.0.0.1:PORT, for nodemailer or `--smtp`. */
  readonly url: string;
  readonly port: number;
  readonly messages: readonly LabMessage[];
  close(): Promise<void>;
}

export interface LabMailboxOptions {
  /** Loopback address to listen on (default 127.0.0.1). */
  readonly host?: string;
  readonly port?: number;
  /** Where to write the .eml files; none when absent. */
  readonly dir?: string;
  /** Largest message accepted, bytes (default 10 MiB). */
  readonly maxBytes?: number;
}

const labDomain = /\.invalid$/i;

/** Start the lab's SMTP server. Only loopback addresses are accepted for `host`. */
export async function startLabMailbox(options: LabMailboxOptions = {}): Promise<LabMailbox> {
  const host = options.host ?? '127.0.0.1';
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) throw new IotcleanError('E_LAB', `the lab mailbox listens on loopback only, not ${host}`);
  const maxBytes = options.maxBytes ?? 10 << 20;
  if (options.dir) await mkdir(options.dir, { recursive: true });
  const messages: LabMessage[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: maxBytes,
    onRcptTo(address, _session, callback) {
      const domain = address.address.split('@')[1] ?? '';
      callback(labDomain.test(domain) ? null : Object.assign(new Error(`mailbox unavailable: ${address.address} is not a lab address`), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= maxBytes) chunks.push(c);
      });
      stream.on('end', () => {
        if (size > maxBytes) return callback(Object.assign(new Error('message too large'), { responseCode: 552 }));
        const raw = Buffer.concat(chunks);
        const n = messages.length + 1;
        const file = options.dir ? join(options.dir, `${String(n).padStart(6, '0')}.eml`) : null;
        const message: LabMessage = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          receivedAt: new Date().toISOString(),
          file,
        };
        messages.push(message);
        if (!file) return callback();
        writeFile(file, raw).then(
          () => callback(),
          (e: Error) => callback(e),
        );
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const address = server.server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
  return {
    url: `smtp://${host}:${port}`,
    port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
