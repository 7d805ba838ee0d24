/**
 * Records that cross stages. Plain readonly JSON-serialisable data with a `kind` field; stages meet
 * here and never in each other's storage.
 */

/** An open TCP port found by discovery (or imported from masscan / zmap). */
export interface Endpoint {
  readonly kind: 'endpoint';
  /** The store's id, which later records cite; absent until the endpoint is stored. */
  readonly id?: number;
  readonly ip: string;
  readonly port: number;
  /** When the port was seen open, ISO 8601. */
  readonly seenAt: string;
  /** Which engine saw it. */
  readonly source: EndpointSource;
}

export type EndpointSource = 'connect' | 'masscan' | 'zmap';

/** One port of a survey plan, with why it is in the plan. */
export interface PlanPort {
  readonly port: number;
  readonly service: string;
  readonly reason: string;
}

/** Closed set of probe outcomes (zgrab2-style). Discovery records only `open`. */
export type ProbeStatus = 'open' | 'closed' | 'timeout' | 'error';
