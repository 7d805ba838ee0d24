/**
 * telnet (port 23, also 2323 and vendor consoles): sends nothing but option-negotiation replies,
 * agreeing only to the server's ECHO and SUPPRESS-GO-AHEAD (what every login needs) and refusing
 * every other option (RFC 854, RFC 1143's rules stop negotiation loops); reads the pre-login
 * banner up to the login/password prompt or until the server goes quiet. Never sends a user name,
 * a password or any keystroke. Records the banner, the prompt, what kind of prompt it is and the
 * options the server asked for (TelnetFields).
 */
import { OptionNegotiator, TelnetDecoder, TelnetOption, telnetOptionName } from '../../protocols/telnet.js';
import type { ConnectionStatus } from '../../scope/connection.js';
import type { TelnetFields } from '../fields.js';
import type { GrabModule } from '../module.js';
import { bannerText, decodeText, looksLikeText, maxTextChars } from '../text.js';

/** Data bytes (after telnet commands are removed) read at most before stopping. */
export const telnetDataBytes = 8192;
/** Option names kept per list (a hostile server could ask for all 256). */
const maxOptions = 32;

// A colon or ">" after the word: "Welcome user" is prose, "User:" is a prompt.
const loginRe = /(?:login|login as|user ?name|user|account|user id)\s*[:>]\s*$/i;
const passwordRe = /(?:password|passwd|passcode|pass)\s*[:>]\s*$/i;
/** A shell or console prompt: "# ", "$ ", "> ", "router>" (an open shell is itself a finding later). */
const shellRe = /[#$>%]\s*$/;
/** A Unix shell prompt as a whole line: "#", "$", "root@dvr:~#", "[root@nas ~]$", "~ #". */
const rootShellRe = /^[\w@.:~/[\] -]{0,60}[#$]$/;

/** The last line of the text when it looks like a prompt, else null. */
export function promptOf(text: string): string | null {
  const lines = text.split('\n');
  let last = lines[lines.length - 1] ?? '';
  // A prompt followed by a newline still counts (some servers send "login:\r\n").
  if (last.trim() === '' && lines.length > 1) last = lines[lines.length - 2] ?? '';
  const t = last.trimEnd();
  if (t.length === 0 || t.length > 120) return null;
  return loginRe.test(t) || passwordRe.test(t) || shellRe.test(t) ? t : null;
}

/** What the telnet decoder and the prompt rules make of a server's first bytes. */
export interface TelnetParse {
  readonly fields: TelnetFields;
  /** IAC negotiation seen: a telnet server for sure. */
  readonly negotiated: boolean;
}

/** Incremental telnet session reader: feed server chunks, get the replies to send. */
export class TelnetReader {
  private readonly decoder = new TelnetDecoder();
  private readonly negotiator = new OptionNegotiator({
    local: new Set([TelnetOption.SGA]),
    remote: new Set([TelnetOption.ECHO, TelnetOption.SGA]),
  });
  private data: Buffer[] = [];
  private dataBytes = 0;
  private readonly will = new Set<string>();
  private readonly doing = new Set<string>();
  negotiated = false;

  /** Decode a chunk; returns the negotiation replies to send (possibly empty). */
  push(chunk: Uint8Array): Buffer {
    const replies: Buffer[] = [];
    for (const ev of this.decoder.push(chunk)) {
      if (ev.kind === 'data') {
        const room = telnetDataBytes - this.dataBytes;
        if (room > 0) {
          const kept = ev.bytes.subarray(0, room);
          this.data.push(kept);
          this.dataBytes += kept.length;
        }
      } else if (ev.kind === 'negotiate') {
        this.negotiated = true;
        const set = ev.verb === 'will' || ev.verb === 'wont' ? this.will : this.doing;
        if ((ev.verb === 'will' || ev.verb === 'do') && set.size < maxOptions) set.add(telnetOptionName(ev.option));
        const out = this.negotiator.receive(ev.verb, ev.option);
        if (out.reply) replies.push(out.reply);
      } else if (ev.kind === 'subnegotiation') {
        this.negotiated = true; // answered with nothing: we agreed to no option that needs SB
      }
    }
    return Buffer.concat(replies);
  }

  /** Whether the data ends at a prompt; looks at the last bytes only, so a trickle costs O(n). */
  tailPrompt(): boolean {
    const last = this.data[this.data.length - 1];
    if (!last || last.length === 0) return false;
    const tail: Buffer[] = [];
    let n = 0;
    for (let i = this.data.length - 1; i >= 0 && n < 256; i--) {
      const piece = this.data[i]!;
      tail.unshift(piece);
      n += piece.length;
    }
    return promptOf(bannerText(Buffer.concat(tail).subarray(-256))) !== null;
  }

  /** Whether the data so far (commands removed) reads as text in any encoding. */
  textual(): boolean {
    return looksLikeText(Buffer.concat(this.data));
  }

  /**
   * True when, with no negotiation seen, the data is clearly not telnet: another protocol's
   * greeting line, or 64+ bytes that do not read as text. Stops waiting for an idle timeout.
   */
  otherProtocol(): boolean {
    if (this.negotiated) return false;
    const head = Buffer.concat(this.data).subarray(0, 512);
    if (/^(SSH-|HTTP\/|RTSP\/|\d{3}[ -])[^\n]*\n/.test(head.toString('latin1'))) return true;
    return head.length >= 64 && !looksLikeText(head);
  }

  get full(): boolean {
    return this.dataBytes >= telnetDataBytes;
  }

  /** The data as sent (NUL dropped, nothing else), decoded, bounded (TelnetFields.text). */
  rawText(): string {
    const s = decodeText(Buffer.concat(this.data).filter((b) => b !== 0));
    return s.length > maxTextChars ? s.slice(0, maxTextChars) : s;
  }

  text(): string {
    return bannerText(Buffer.concat(this.data), telnetDataBytes);
  }

  parse(): TelnetParse {
    const text = this.text();
    const prompt = promptOf(text);
    let banner = text;
    if (prompt !== null) {
      const at = text.lastIndexOf(prompt);
      banner = at >= 0 ? text.slice(0, at) : text;
    }
    return {
      negotiated: this.negotiated,
      fields: {
        banner: banner.replace(/^\s*\n/, '').replace(/\s+$/, ''),
        prompt,
        loginPrompt: prompt !== null && loginRe.test(prompt),
        passwordPrompt: prompt !== null && passwordRe.test(prompt),
        will: [...this.will],
        do: [...this.doing],
        text: this.rawText(),
      },
    };
  }
}

/** Whether bytes look like a telnet server: an IAC verb first, or text ending at a login prompt. */
function looksTelnet(first: Buffer): boolean {
  const b1 = first[1];
  if (first[0] === 0xff && b1 !== undefined && b1 >= 251 && b1 <= 254) return true;
  const p = promptOf(bannerText(first));
  // A root shell with no login at all ("# ", "root@dvr:~# ") is telnet too, and a finding later.
  return p !== null && (loginRe.test(p) || passwordRe.test(p) || rootShellRe.test(p));
}

/** The telnet grab module (registered in ../index.ts). */
export const telnetModule: GrabModule = {
  name: 'telnet',
  description: 'refuses all telnet options but ECHO/SGA, reads the banner up to the login prompt; never sends credentials',
  defaultPorts: [23, 2323],
  tls: false,
  recognise: looksTelnet,
  async grab(conn) {
    const reader = new TelnetReader();
    let status: ConnectionStatus = 'success';
    let error: string | undefined;
    let raw = 0;
    for (;;) {
      const r = await conn.read();
      if (r.data.length > 0) {
        raw += r.data.length;
        const reply = reader.push(r.data);
        if (reply.length > 0) {
          const w = await conn.write(reply);
          if (w.status !== 'success') {
            status = w.status;
            error = w.error;
            break;
          }
        }
      }
      if (r.status !== 'success') {
        // Quiet after speaking is how a telnet banner ends; only silence from the start is a failure.
        if (raw === 0 || r.status !== 'io-timeout') status = r.status;
        error = r.error;
        break;
      }
      if (reader.tailPrompt() || reader.full || reader.otherProtocol()) break;
    }
    const parsed = reader.parse();
    const text = reader.text();
    // Telnet data is text: negotiation amid binary is garbage that happened to hold 0xFF. Without
    // IAC, text counts as telnet only when it ends at a prompt (an SSH or FTP greeting goes to the
    // module that recognises it).
    const textual = reader.textual();
    const recognised =
      textual && (parsed.negotiated || (parsed.fields.prompt !== null && !/^(SSH-|HTTP\/|RTSP\/|\d{3}[ -])/.test(text)));
    if (!recognised && raw > 0 && status === 'success') {
      status = 'protocol-error';
      error = 'no telnet negotiation and no prompt';
    }
    if (recognised && status === 'connection-closed') status = 'success';
    return { status, recognised, fields: { ...parsed.fields }, ...(error && status !== 'success' ? { error } : {}) };
  },
};
