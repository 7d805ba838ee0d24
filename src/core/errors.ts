/**
 * The one error type a user can meet. Every code lives in this catalogue so messages stay
 * consistent and callers (CLI, later the HTTP API) can map them without string matching.
 */
export const errorCodes = {
  E_ARGS: 'bad command-line arguments',
  E_SCOPE_FILE: 'scope file is invalid',
  E_SCOPE_DENIED: 'target is outside the authorised scope',
  E_ISP_FILE: 'prefix-to-ISP table is invalid',
  E_PLAN_FILE: 'survey plan is invalid',
  E_IMPORT_FILE: 'scanner output cannot be imported',
  E_STORE: 'store error',
  E_BUSY: 'another runner holds this survey',
  E_LAB: 'lab error',
  E_RULES_FILE: 'fingerprint rule file is invalid',
  E_CATALOGUE_FILE: 'device-model catalogue file is invalid',
  E_DICTIONARY_FILE: 'ID/password dictionary file is invalid',
  E_CAPTURE_FILE: 'packet capture cannot be read',
  E_SCANNER_LIST: 'research-scanner list is invalid',
  E_VULN_DATA: 'vulnerability data file is invalid',
  E_CPE: 'CPE name is invalid',
  E_FINDING: 'finding record is invalid',
  E_SESSION_LOG: 'session log cannot be read',
  E_TEMPLATE: 'alert template is invalid',
  E_SMTP: 'mail delivery failed',
  E_NOT_FOUND: 'not found',
  E_PLAN_APPROVAL: 'survey plan is not approved, or the approval step was refused',
  E_SHARE_FILE: 'sharing file (tokens, candidates) is invalid',
  E_TAXII: 'TAXII server refused or failed',
  E_FLOW_STORE: 'flow store (Parquet directory) error',
  E_FLOW_FILE: 'flow file cannot be imported',
  E_FLOW_LISTEN: 'flow collector cannot listen',
  E_INTERNAL: 'internal error: a bug in iotclean, please report it with the command that caused it',
} as const;

export type ErrorCode = keyof typeof errorCodes;

export interface ErrorWhere {
  /** File the bad input came from. */
  readonly file?: string;
  /** 1-based line in that file. */
  readonly line?: number;
  /** What the user can do about it. */
  readonly hint?: string;
}

export class IotcleanError extends Error {
  override readonly name = 'IotcleanError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly where: ErrorWhere = {},
  ) {
    super(message);
  }

  /** "file:line: message (hint)" — the one-line form the CLI prints. */
  format(): string {
    const loc = this.where.file ? `${this.where.file}${this.where.line ? `:${this.where.line}` : ''}: ` : '';
    const hint = this.where.hint ? `\n  hint: ${this.where.hint}` : '';
    return `${this.code} ${loc}${this.message}${hint}`;
  }
}

export function isIotcleanError(e: unknown): e is IotcleanError {
  return e instanceof IotcleanError;
}
