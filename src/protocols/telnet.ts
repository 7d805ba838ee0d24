/**
 * Telnet codec shared by the lab's server and the survey's clients (grab, access): the RFC 854
 * command bytes, the option table, IAC escaping, an incremental decoder (RFC 854 commands, RFC 855
 * subnegotiation) and RFC 1143 option negotiation state. It only turns bytes into events and
 * events into bytes; what to answer, prompt or log is the caller's business.
 */

/** RFC 854 command bytes (each follows IAC). */
export const TelnetCommand = {
  SE: 240, // end of subnegotiation (RFC 855)
  NOP: 241,
  DM: 242, // data mark
  BRK: 243,
  IP: 244, // interrupt process
  AO: 245, // abort output
  AYT: 246, // are you there
  EC: 247, // erase character
  EL: 248, // erase line
  GA: 249, // go ahead
  SB: 250, // start of subnegotiation (RFC 855)
  WILL: 251,
  WONT: 252,
  DO: 253,
  DONT: 254,
  IAC: 255,
} as const;

const { SE, SB, WILL, WONT, DO, DONT, IAC } = TelnetCommand;

/** One registered telnet option (IANA "Telnet Options" registry). */
export interface TelnetOptionInfo {
  readonly code: number;
  readonly name: string;
  readonly rfc?: number;
}

/** The options a device or client commonly negotiates, by code. */
export const telnetOptions: readonly TelnetOptionInfo[] = [
  { code: 0, name: 'binary', rfc: 856 },
  { code: 1, name: 'echo', rfc: 857 },
  { code: 2, name: 'reconnection' },
  { code: 3, name: 'suppress-go-ahead', rfc: 858 },
  { code: 4, name: 'approx-message-size' },
  { code: 5, name: 'status', rfc: 859 },
  { code: 6, name: 'timing-mark', rfc: 860 },
  { code: 7, name: 'rcte', rfc: 726 },
  { code: 8, name: 'output-line-width' },
  { code: 9, name: 'output-page-size' },
  { code: 10, name: 'output-cr-disposition', rfc: 652 },
  { code: 11, name: 'output-htab-stops', rfc: 653 },
  { code: 12, name: 'output-htab-disposition', rfc: 654 },
  { code: 13, name: 'output-formfeed-disposition', rfc: 655 },
  { code: 14, name: 'output-vtab-stops', rfc: 656 },
  { code: 15, name: 'output-vtab-disposition', rfc: 657 },
  { code: 16, name: 'output-lf-disposition', rfc: 658 },
  { code: 17, name: 'extended-ascii', rfc: 698 },
  { code: 18, name: 'logout', rfc: 727 },
  { code: 19, name: 'byte-macro', rfc: 735 },
  { code: 20, name: 'data-entry-terminal', rfc: 1043 },
  { code: 21, name: 'supdup', rfc: 736 },
  { code: 22, name: 'supdup-output', rfc: 749 },
  { code: 23, name: 'send-location', rfc: 779 },
  { code: 24, name: 'terminal-type', rfc: 1091 },
  { code: 25, name: 'end-of-record', rfc: 885 },
  { code: 26, name: 'tacacs-user-identification', rfc: 927 },
  { code: 27, name: 'output-marking', rfc: 933 },
  { code: 28, name: 'terminal-location-number', rfc: 946 },
  { code: 29, name: 'telnet-3270-regime', rfc: 1041 },
  { code: 30, name: 'x3-pad', rfc: 1053 },
  { code: 31, name: 'window-size', rfc: 1073 },
  { code: 32, name: 'terminal-speed', rfc: 1079 },
  { code: 33, name: 'remote-flow-control', rfc: 1372 },
  { code: 34, name: 'linemode', rfc: 1184 },
  { code: 35, name: 'x-display-location', rfc: 1096 },
  { code: 36, name: 'environment', rfc: 1408 },
  { code: 37, name: 'authentication', rfc: 2941 },
  { code: 38, name: 'encryption', rfc: 2946 },
  { code: 39, name: 'new-environment', rfc: 1572 },
  { code: 40, name: 'tn3270e', rfc: 2355 },
  { code: 41, name: 'xauth' },
  { code: 42, name: 'charset', rfc: 2066 },
  { code: 43, name: 'remote-serial-port' },
  { code: 44, name: 'com-port-control', rfc: 2217 },
  { code: 45, name: 'suppress-local-echo' },
  { code: 46, name: 'start-tls' },
  { code: 47, name: 'kermit', rfc: 2840 },
  { code: 48, name: 'send-url' },
  { code: 49, name: 'forward-x' },
  { code: 138, name: 'telopt-pragma-logon' },
  { code: 139, name: 'telopt-sspi-logon' },
  { code: 140, name: 'telopt-pragma-heartbeat' },
  { code: 255, name: 'extended-options-list', rfc: 861 },
];

/** Option codes by the names the lab and the clients use. */
export const TelnetOption = {
  BINARY: 0,
  ECHO: 1,
  SGA: 3,
  STATUS: 5,
  TIMING_MARK: 6,
  TTYPE: 24,
  EOR: 25,
  NAWS: 31,
  TSPEED: 32,
  LFLOW: 33,
  LINEMODE: 34,
  XDISPLOC: 35,
  NEW_ENVIRON: 39,
} as const;

/** RFC 1091: IAC SB TERMINAL-TYPE SEND IAC SE asks for the name, IS carries it. */
export const TTYPE_IS = 0;
export const TTYPE_SEND = 1;

const optionNames = new Map(telnetOptions.map((o) => [o.code, o.name]));
const commandNames = new Map<number, string>(Object.entries(TelnetCommand).map(([name, code]) => [code, name]));

/** The option's registered name, or `option-N` for an unlisted code. */
export function telnetOptionName(code: number): string {
  return optionNames.get(code) ?? `option-${code}`;
}

/** The command's RFC 854 name (`AYT`, `GA`, ...), or `command-N` for a byte RFC 854 does not define. */
export function telnetCommandName(code: number): string {
  return commandNames.get(code) ?? `command-${code}`;
}

/** A telnet verb: WILL/WONT/DO/DONT (RFC 854). */
export type TelnetVerb = 'will' | 'wont' | 'do' | 'dont';

const verbByByte: ReadonlyMap<number, TelnetVerb> = new Map([
  [WILL, 'will'],
  [WONT, 'wont'],
  [DO, 'do'],
  [DONT, 'dont'],
]);
const byteByVerb: Readonly<Record<TelnetVerb, number>> = { will: WILL, wont: WONT, do: DO, dont: DONT };

/** What the decoder found in the byte stream. */
export type TelnetEvent =
  | { readonly kind: 'data'; readonly bytes: Buffer }
  | { readonly kind: 'command'; readonly command: number }
  | { readonly kind: 'negotiate'; readonly verb: TelnetVerb; readonly option: number }
  | { readonly kind: 'subnegotiation'; readonly option: number; readonly data: Buffer };

type DecoderState = 'data' | 'iac' | 'verb' | 'sb-option' | 'sb-data' | 'sb-iac';

/**
 * Incremental decoder for either side of a telnet stream (RFC 854 commands, RFC 855
 * subnegotiation, IAC IAC escaping). Keeps its state between chunks, so a sequence split across
 * TCP segments decodes the same as one sent whole. Subnegotiation payloads are capped, so a peer
 * that never sends IAC SE cannot grow memory.
 */
export class TelnetDecoder {
  private state: DecoderState = 'data';
  private verb: TelnetVerb = 'will';
  private sbOption = 0;
  private sb: number[] = [];
  private events: TelnetEvent[] = [];
  private data: number[] = [];

  /** @param maxSubnegotiation bytes of one SB payload kept; the rest is dropped. */
  constructor(private readonly maxSubnegotiation = 64) {}

  /** Decode one chunk; returns the events it completes. */
  push(chunk: Uint8Array): TelnetEvent[] {
    for (const byte of chunk) this.step(byte);
    this.flushData();
    const out = this.events;
    this.events = [];
    return out;
  }

  /** True when the bytes so far end inside a command or subnegotiation (a truncated sequence). */
  get pending(): boolean {
    return this.state !== 'data';
  }

  private step(b: number): void {
    switch (this.state) {
      case 'data':
        if (b === IAC) this.state = 'iac';
        else this.data.push(b);
        return;
      case 'iac':
        this.afterIac(b);
        return;
      case 'verb':
        this.emit({ kind: 'negotiate', verb: this.verb, option: b });
        this.state = 'data';
        return;
      case 'sb-option':
        this.sbOption = b;
        this.sb = [];
        this.state = 'sb-data';
        return;
      case 'sb-data':
        if (b === IAC) this.state = 'sb-iac';
        else this.sbPush(b);
        return;
      case 'sb-iac':
        if (b === IAC) {
          this.sbPush(IAC); // RFC 855: a data 255 inside SB is doubled too
          this.state = 'sb-data';
        } else if (b === SE) {
          this.emit({ kind: 'subnegotiation', option: this.sbOption, data: Buffer.from(this.sb) });
          this.sb = [];
          this.state = 'data';
        } else {
          // RFC 855 does not define IAC <cmd> inside SB. Like most implementations, drop the
          // unfinished subnegotiation and read the byte as a command, so a lost SE cannot swallow
          // the session.
          this.sb = [];
          this.afterIac(b);
        }
        return;
    }
  }

  private afterIac(b: number): void {
    const verb = verbByByte.get(b);
    if (b === IAC) {
      this.data.push(IAC); // IAC IAC is one data byte 255
      this.state = 'data';
    } else if (verb !== undefined) {
      this.verb = verb;
      this.state = 'verb';
    } else if (b === SB) {
      this.state = 'sb-option';
    } else {
      this.emit({ kind: 'command', command: b });
      this.state = 'data';
    }
  }

  private sbPush(b: number): void {
    if (this.sb.length < this.maxSubnegotiation) this.sb.push(b);
  }

  private emit(event: TelnetEvent): void {
    this.flushData();
    this.events.push(event);
  }

  private flushData(): void {
    if (this.data.length === 0) return;
    this.events.push({ kind: 'data', bytes: Buffer.from(this.data) });
    this.data = [];
  }
}

/** Double every 255 so data is not read as a command (RFC 854). */
export function escapeIac(bytes: Uint8Array): Buffer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!buf.includes(IAC)) return buf;
  const out: number[] = [];
  for (const b of buf) {
    out.push(b);
    if (b === IAC) out.push(IAC);
  }
  return Buffer.from(out);
}

/** IAC <verb> <option>. */
export function encodeNegotiation(verb: TelnetVerb, option: number): Buffer {
  return Buffer.of(IAC, byteByVerb[verb], option);
}

/** IAC SB <option> <data, IAC doubled> IAC SE (RFC 855). */
export function encodeSubnegotiation(option: number, data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(IAC, SB, option), escapeIac(data), Buffer.of(IAC, SE)]);
}

/** IAC <command>, for commands without an option (NOP, AYT, GA, ...). */
export function encodeCommand(command: number): Buffer {
  return Buffer.of(IAC, command);
}

/** Which side performs an option: `local` is us (DO/DONT ask us), `remote` is the peer (WILL/WONT). */
export type TelnetSide = 'local' | 'remote';

/** RFC 1143 state of one option on one side, without the queue bit. */
export type OptionState = 'no' | 'yes' | 'wantno' | 'wantyes';

/** Options we agree to when the peer asks, per side. */
export interface NegotiationPolicy {
  /** Options we agree to perform when the peer sends DO. */
  readonly local: ReadonlySet<number>;
  /** Options we let the peer perform when it sends WILL. */
  readonly remote: ReadonlySet<number>;
}

/** What receiving one negotiation did. */
export interface NegotiationOutcome {
  readonly side: TelnetSide;
  readonly option: number;
  readonly before: OptionState;
  readonly after: OptionState;
  /** Bytes to send back, or undefined when the RFC says to stay silent (that is what stops loops). */
  readonly reply: Buffer | undefined;
}

/**
 * Option negotiation state for both sides of a connection (RFC 854's rules, RFC 1143's states,
 * without the queue bit: a request made while the opposite one is pending is sent again).
 */
export class OptionNegotiator {
  private readonly states: Record<TelnetSide, Map<number, OptionState>> = { local: new Map(), remote: new Map() };

  constructor(private readonly policy: NegotiationPolicy) {}

  /** State of an option on one side (`no` until negotiated). */
  state(side: TelnetSide, option: number): OptionState {
    return this.states[side].get(option) ?? 'no';
  }

  /** Handle a WILL/WONT/DO/DONT received from the peer. */
  receive(verb: TelnetVerb, option: number): NegotiationOutcome {
    const side: TelnetSide = verb === 'do' || verb === 'dont' ? 'local' : 'remote';
    const enable = verb === 'do' || verb === 'will';
    const agree: TelnetVerb = side === 'local' ? 'will' : 'do';
    const refuse: TelnetVerb = side === 'local' ? 'wont' : 'dont';
    const before = this.state(side, option);
    let after: OptionState = before;
    let reply: TelnetVerb | undefined;
    if (enable) {
      if (before === 'no') {
        // An unsolicited request: accept what the policy allows, refuse the rest.
        if (this.policy[side].has(option)) {
          after = 'yes';
          reply = agree;
        } else {
          reply = refuse;
        }
      } else if (before === 'wantyes') {
        after = 'yes'; // the answer to our own request: no reply
      } else if (before === 'wantno') {
        after = 'no'; // RFC 1143: our DONT/WONT answered by DO/WILL; give up
      }
    } else {
      after = 'no';
      if (before === 'yes') reply = refuse; // RFC 854: acknowledge a switch to disabled
    }
    this.states[side].set(option, after);
    return { side, option, before, after, reply: reply === undefined ? undefined : encodeNegotiation(reply, option) };
  }

  /** Ask to turn an option on or off; returns the bytes to send, or undefined when nothing is needed. */
  request(side: TelnetSide, option: number, enable: boolean): Buffer | undefined {
    const state = this.state(side, option);
    if (enable && (state === 'no' || state === 'wantno')) {
      this.states[side].set(option, 'wantyes');
      return encodeNegotiation(side === 'local' ? 'will' : 'do', option);
    }
    if (!enable && (state === 'yes' || state === 'wantyes')) {
      this.states[side].set(option, 'wantno');
      return encodeNegotiation(side === 'local' ? 'wont' : 'dont', option);
    }
    return undefined;
  }
}
