/**
 * scoreAccess on a hand-made truth and synthetic results: each rule (found, missed, wrong pair,
 * weak on a strong device, honeypot, lock-out, stray results, port matching) has a case that
 * fails if the rule is dropped.
 */
import { describe, expect, it } from 'vitest';
import type { AccessProtocol, AccessResult, AccessVerdict } from '../core/records.js';
import type { GroundTruth, GroundTruthDevice, GroundTruthService } from './ground-truth.js';
import { accessProtocolOf, scoreAccess, type EntryPair } from './score-access.js';
import type { LabAuth } from './types.js';

const svc = (port: number, auth: LabAuth, boundPort = port): GroundTruthService => ({
  port,
  boundPort,
  protocol: auth === 'ssh' ? 'ssh' : auth === 'telnet-login' ? 'telnet' : auth === 'ftp-login' ? 'ftp' : 'http',
  auth,
});

function device(id: string, ip: string, over: Partial<GroundTruthDevice>): GroundTruthDevice {
  return {
    id,
    ip,
    ispId: 'isp',
    profile: `p-${id}`,
    type: 'router',
    vendor: 'V',
    model: 'M',
    behaviour: 'normal',
    weak: false,
    credentials: [{ username: 'admin', password: 'Strong-Pass-123' }],
    services: [],
    ...over,
  };
}

const weak = device('weak', '127.9.0.1', {
  weak: true,
  credentials: [{ username: 'admin', password: 'admin' }],
  // Telnet moved to a high port by the port map; HTTP on its own port; FTP and an open page are not scored.
  services: [svc(23, 'telnet-login', 40023), svc(80, 'http-basic'), svc(21, 'ftp-login'), svc(8080, 'none')],
});
const strong = device('strong', '127.9.0.2', { services: [svc(22, 'ssh'), svc(80, 'http-form')] });
const honeypot = device('honey', '127.9.0.3', { behaviour: 'honeypot', services: [svc(22, 'ssh'), svc(23, 'telnet-login', 40023)] });
const locked = device('lock', '127.9.0.4', { behaviour: 'lockout', services: [svc(23, 'telnet-login', 40023), svc(8081, 'http-digest')] });
const weakLocked = device('weaklock', '127.9.0.5', { behaviour: 'lockout', weak: true, credentials: [{ username: 'support', password: 'support' }], services: [svc(80, 'http-basic')] });

const truth: GroundTruth = {
  version: 1,
  seed: 's',
  network: '127.9.0.0/16',
  weakShare: 0.5,
  portMap: { '23': 40023 },
  isps: [],
  devices: [weak, strong, honeypot, locked, weakLocked],
};

const pairs: Record<string, { username: string; password: string }> = {
  good: { username: 'admin', password: 'admin' },
  other: { username: 'root', password: 'admin' },
  support: { username: 'support', password: 'support' },
};
const entryPair: EntryPair = (id) => pairs[id];

function result(ip: string, port: number, protocol: AccessProtocol, verdict: AccessVerdict, entry: string | null = null): AccessResult {
  return {
    kind: 'access-result',
    surveyId: null,
    endpointId: null,
    ip,
    port,
    protocol,
    verdict,
    entry,
    username: entry ? (pairs[entry]?.username ?? null) : null,
    reason: null,
    attempts: 1,
    planDigest: null,
    planVersion: null,
    dictionary: { name: 'default', version: '1', digest: 'x' },
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:00:01.000Z',
  };
}

/** Everything right: the baseline each case below breaks in one way. */
const perfect: AccessResult[] = [
  result(weak.ip, 40023, 'telnet', 'weak-credential', 'good'),
  result(weak.ip, 80, 'http-basic', 'weak-credential', 'good'),
  result(strong.ip, 22, 'ssh', 'no-weak-credential'),
  result(strong.ip, 80, 'http-form', 'no-weak-credential'),
  result(honeypot.ip, 22, 'ssh', 'accepts-any'),
  result(honeypot.ip, 40023, 'telnet', 'accepts-any'),
  result(locked.ip, 40023, 'telnet', 'locked-out'),
  result(locked.ip, 8081, 'http-digest', 'no-weak-credential'),
  result(weakLocked.ip, 80, 'http-basic', 'weak-credential', 'support'),
];

const replace = (index: number, r: AccessResult): AccessResult[] => perfect.map((x, i) => (i === index ? r : x));
const outcomeAt = (s: ReturnType<typeof scoreAccess>, ip: string, port: number): string | undefined => s.scored.find((x) => x.ip === ip && x.port === port)?.outcome;

describe('scoreAccess', () => {
  it('maps the five login auths to access protocols and nothing else', () => {
    expect(accessProtocolOf('telnet-login')).toBe('telnet');
    expect(accessProtocolOf('http-digest')).toBe('http-digest');
    expect(accessProtocolOf('ftp-login')).toBeNull();
    expect(accessProtocolOf('none')).toBeNull();
    expect(accessProtocolOf('rtsp-digest')).toBeNull();
  });

  it('scores a perfect run as perfect, matching results by bound port', () => {
    const s = scoreAccess(truth, perfect, entryPair);
    expect(s.services).toBe(9); // FTP and the open page are not scored
    expect(s).toMatchObject({ weakServices: 3, weakFound: 3, weakMissed: 0, weakDevices: 2, weakDevicesFound: 2, falsePositives: 0, honeypotServices: 2, honeypotsAcceptsAny: 2, honeypotsOther: 0, noResult: 0 });
    expect(s.lockoutVerdicts).toEqual({ 'locked-out': 1, 'no-weak-credential': 1, 'weak-credential': 1 });
    expect(s.stray).toEqual([]);
    expect(s.byProtocol).toEqual({
      telnet: { services: 3, weakServices: 1, weakFound: 1, falsePositives: 0 },
      'http-basic': { services: 2, weakServices: 2, weakFound: 2, falsePositives: 0 },
      ssh: { services: 2, weakServices: 0, weakFound: 0, falsePositives: 0 },
      'http-form': { services: 1, weakServices: 0, weakFound: 0, falsePositives: 0 },
      'http-digest': { services: 1, weakServices: 0, weakFound: 0, falsePositives: 0 },
    });
  });

  it('also matches a result given with the device port', () => {
    const s = scoreAccess(truth, replace(0, result(weak.ip, 23, 'telnet', 'weak-credential', 'good')), entryPair);
    expect(outcomeAt(s, weak.ip, 23)).toBe('found');
  });

  it('counts a missing result as missed and as no result', () => {
    const s = scoreAccess(truth, perfect.slice(1), entryPair);
    expect(outcomeAt(s, weak.ip, 23)).toBe('missed');
    expect(s).toMatchObject({ weakMissed: 1, noResult: 1, weakDevicesFound: 2 });
  });

  it('counts a weak device with no weak verdict anywhere as a device not found', () => {
    const s = scoreAccess(truth, replace(8, result(weakLocked.ip, 80, 'http-basic', 'locked-out')), entryPair);
    expect(s.weakDevicesFound).toBe(1);
    expect(s.devices.find((d) => d.deviceId === 'weaklock')?.found).toBe(false);
    expect(s.lockoutVerdicts['locked-out']).toBe(2);
  });

  it('calls a weak verdict with a pair the device refuses a false positive, not a find', () => {
    const s = scoreAccess(truth, replace(1, result(weak.ip, 80, 'http-basic', 'weak-credential', 'other')), entryPair);
    expect(outcomeAt(s, weak.ip, 80)).toBe('false-positive');
    expect(s.scored.find((x) => x.port === 80 && x.ip === weak.ip)?.why).toMatch(/other \(root\) is not accepted/);
    expect(s).toMatchObject({ falsePositives: 1, weakFound: 2, weakMissed: 1 });
  });

  it('calls a weak verdict naming an unknown entry, or none, a false positive', () => {
    expect(scoreAccess(truth, replace(1, result(weak.ip, 80, 'http-basic', 'weak-credential', 'gone')), entryPair).falsePositives).toBe(1);
    expect(scoreAccess(truth, replace(1, result(weak.ip, 80, 'http-basic', 'weak-credential', null)), entryPair).falsePositives).toBe(1);
  });

  it('calls a weak verdict on a strong device a false positive', () => {
    const s = scoreAccess(truth, replace(2, result(strong.ip, 22, 'ssh', 'weak-credential', 'good')), entryPair);
    expect(outcomeAt(s, strong.ip, 22)).toBe('false-positive');
    expect(s.falsePositives).toBe(1);
  });

  it('calls a weak verdict on a non-weak lock-out device a false positive', () => {
    const s = scoreAccess(truth, replace(6, result(locked.ip, 40023, 'telnet', 'weak-credential', 'good')), entryPair);
    expect(s.falsePositives).toBe(1);
  });

  it('calls a honeypot marked weak a false positive, and other verdicts honeypot-other', () => {
    const s = scoreAccess(truth, replace(4, result(honeypot.ip, 22, 'ssh', 'weak-credential', 'good')), entryPair);
    expect(outcomeAt(s, honeypot.ip, 22)).toBe('false-positive');
    expect(s).toMatchObject({ falsePositives: 1, honeypotsAcceptsAny: 1 });
    const t = scoreAccess(truth, replace(5, result(honeypot.ip, 40023, 'telnet', 'no-weak-credential')), entryPair);
    expect(t).toMatchObject({ honeypotsAcceptsAny: 1, honeypotsOther: 1, falsePositives: 0 });
  });

  it('keeps one wrong result among several for a service as a false positive', () => {
    const s = scoreAccess(truth, [...perfect, result(weak.ip, 80, 'http-basic', 'weak-credential', 'other')], entryPair);
    expect(outcomeAt(s, weak.ip, 80)).toBe('false-positive');
  });

  it('keeps results at unscored endpoints as stray, weak ones counted as false positives', () => {
    const extra = [
      result(weak.ip, 21, 'telnet', 'weak-credential', 'good'), // FTP port: not a telnet login
      result(weak.ip, 80, 'http-form', 'no-weak-credential'), // right port, other protocol
      result('127.9.9.9', 23, 'telnet', 'error'), // no device
    ];
    const s = scoreAccess(truth, [...perfect, ...extra], entryPair);
    expect(s.stray).toHaveLength(3);
    expect(s.falsePositives).toBe(1);
    expect(s.byProtocol.telnet?.falsePositives).toBe(1);
    expect(s.weakFound).toBe(3);
  });
});
