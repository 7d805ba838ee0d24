/**
 * A fingerprint rule source: anything that, given one text an observation offers under a key,
 * says which rule matched and what it tells. Keys follow Recog's `matches` names ("ssh.banner",
 * "http_header.server", "html_title", "telnet.banner", "ftp.banner", "rtsp_header.server",
 * "http_header.wwwauth", "http_header.cookie", "favicon.md5", "x509.subject", ...) so iotclean's
 * own rules and Recog's sit side by side; iotclean adds keys Recog lacks ("favicon.mmh3",
 * "mqtt.version", "html_body").
 */

/** One text to fingerprint. */
export interface IdentifyInput {
  readonly key: string;
  readonly text: string;
}

/**
 * What a matched rule asserts, under Recog's parameter names: service.vendor, service.product,
 * service.version, os.vendor, os.product, os.version, hw.vendor, hw.product, hw.device,
 * hw.version, plus iotclean's device.type (one of deviceTypes) and *.cpe23 where a rule knows it.
 */
export type RuleParams = Readonly<Record<string, string>>;

export interface RuleMatch {
  /** Stable rule id: "<source>:<file or set>:<id or index>". */
  readonly rule: string;
  readonly source: string;
  readonly key: string;
  readonly params: RuleParams;
  /** 0…1: how sure this rule is when it matches (Recog's file preference, or the rule's own). */
  readonly confidence: number;
}

export interface RuleSource {
  readonly name: string;
  /** Input keys this source has rules for (the engine skips the others). */
  readonly keys: ReadonlySet<string>;
  /** The first rule matching the input, as Recog does within one database, else undefined. */
  match(input: IdentifyInput): RuleMatch | undefined;
}
