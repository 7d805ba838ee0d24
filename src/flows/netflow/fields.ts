/**
 * The information elements the decoders read (NetFlow v9 field types, RFC 3954 §8, share their
 * numbers with IPFIX IANA elements 1..127; IPFIX adds the rest, RFC 7012 / IANA registry).
 * Everything else in a template is skipped by its length.
 */
export const ie = {
  octetDeltaCount: 1,
  packetDeltaCount: 2,
  protocolIdentifier: 4,
  tcpControlBits: 6,
  sourceTransportPort: 7,
  sourceIPv4Address: 8,
  destinationTransportPort: 11,
  destinationIPv4Address: 12,
  flowEndSysUpTime: 21,
  flowStartSysUpTime: 22,
  postOctetDeltaCount: 23,
  postPacketDeltaCount: 24,
  sourceIPv6Address: 27,
  destinationIPv6Address: 28,
  icmpTypeCodeIPv4: 32,
  samplingInterval: 34,
  samplerId: 48,
  samplerRandomInterval: 50,
  ipVersion: 60,
  octetTotalCount: 85,
  packetTotalCount: 86,
  icmpTypeCodeIPv6: 139,
  flowStartSeconds: 150,
  flowEndSeconds: 151,
  flowStartMilliseconds: 152,
  flowEndMilliseconds: 153,
  flowStartMicroseconds: 154,
  flowEndMicroseconds: 155,
  flowStartNanoseconds: 156,
  flowEndNanoseconds: 157,
  flowStartDeltaMicroseconds: 158,
  flowEndDeltaMicroseconds: 159,
  systemInitTimeMilliseconds: 160,
  icmpTypeIPv4: 176,
  icmpCodeIPv4: 177,
  selectorId: 302,
  samplingPacketInterval: 305,
  samplingPacketSpace: 306,
  samplingSize: 309,
  samplingPopulation: 310,
  samplingProbability: 311,
} as const;

/** IPFIX variable-length marker in a template (RFC 7011 §7). */
export const VARLEN = 65535;

/** Seconds between the NTP epoch (1900) and the Unix epoch, for the dateTimeMicro/Nano types. */
export const NTP_UNIX_OFFSET_S = 2_208_988_800;
