/**
 * The benchmark's Internet-like silence (bench/silence.ts): which devices get which rule, and, in a
 * namespace of its own, that the kernel then behaves as the benchmark claims: unused addresses and
 * firewalled closed ports time out instead of refusing, slow devices still answer after losing
 * their first SYN, and everything else is untouched. Connections are made by python3 inside the
 * namespace (the test process is outside it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GroundTruth, GroundTruthDevice } from '../src/lab/ground-truth.js';
import { densestBlock, inBlock, parseCounters, planSilence, silenceRuleset, silenceTable, type SilencePlan } from '../bench/silence.js';

function device(ip: string, ports: readonly number[]): GroundTruthDevice {
  return {
    id: `d-${ip}`,
    ip,
    ispId: 'isp',
    profile: 'p',
    type: 'router',
    vendor: 'v',
    model: 'm',
    behaviour: 'normal',
    weak: false,
    credentials: [],
    // Bound ports differ from device ports, as when the lab publishes on high ports.
    services: ports.map((port) => ({ port, boundPort: port + 10000, protocol: 'http', auth: 'none' })),
  };
}

function truthOf(devices: readonly GroundTruthDevice[]): GroundTruth {
  return { version: 1, seed: 's', network: '127.79.0.0/20', weakShare: 0, portMap: {}, isps: [], devices };
}

describe('planSilence and densestBlock', () => {
  const truth = truthOf(
    ['127.79.3.9', '127.79.0.2', '127.79.0.10', '127.79.3.1', '127.79.3.2', '127.79.3.3', '127.79.3.4', '127.79.3.5', '127.79.3.6'].map((ip) => device(ip, [80, 23])),
  );

  it('orders devices by address: every second is firewalled, every eighth slow, open pairs use bound ports', () => {
    const p = planSilence(truth);
    expect(p.live).toEqual(['127.79.0.2', '127.79.0.10', '127.79.3.1', '127.79.3.2', '127.79.3.3', '127.79.3.4', '127.79.3.5', '127.79.3.6', '127.79.3.9']);
    expect(p.firewalled).toEqual(['127.79.0.10', '127.79.3.2', '127.79.3.4', '127.79.3.6']);
    expect(p.slow).toEqual(['127.79.0.2', '127.79.3.9']);
    expect(p.open).toContainEqual(['127.79.0.2', 10080]);
    expect(p.open).toHaveLength(18);
  });

  it('picks the block with the most devices and tests membership numerically', () => {
    expect(densestBlock(truth, 24)).toBe('127.79.3.0/24');
    expect(densestBlock(truth, 28)).toBe('127.79.3.0/28');
    expect(inBlock('127.79.3.255', '127.79.3.0/24')).toBe(true);
    expect(inBlock('127.79.4.0', '127.79.3.0/24')).toBe(false);
  });

  it('leaves out empty element lists, which nft would refuse', () => {
    const rules = silenceRuleset({ network: '127.79.0.0/20', live: ['127.79.0.1'], firewalled: [], slow: [], open: [] });
    expect(rules).toContain('set firewalled { type ipv4_addr; }');
    expect(rules).not.toMatch(/elements = \{\s*\}/);
  });
});

const onPath = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
function whyNot(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root (network namespace, nftables)';
  const absent = ['ip', 'nft', 'python3'].filter((c) => !onPath(c));
  return absent.length > 0 ? `needs ${absent.join(', ')} on PATH (apt-get install nftables)` : undefined;
}
const skipReason = whyNot();
if (skipReason) console.warn(`[bench-silence] skipping the nftables behaviour test: ${skipReason}`);

const NS = `iotclean-silence-${process.pid}`;

/** Listens on each "ip port" line of stdin's argument and says ready; exits when stdin closes. */
const listenerPy = `
import socket, sys
socks = []
for pair in sys.argv[1:]:
    ip, port = pair.split(':')
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, int(port))); s.listen(64); socks.append(s)
print('ready', flush=True)
sys.stdin.read()
`;

/** Connects to each ip:port at once (threads) and prints "ip:port outcome". */
const clientPy = `
import socket, sys, threading
results = {}
def probe(pair):
    ip, port = pair.split(':')
    c = socket.socket(); c.settimeout(8)
    try:
        c.connect((ip, int(port))); out = 'open'
    except ConnectionRefusedError:
        out = 'refused'
    except socket.timeout:
        out = 'timeout'
    except OSError as e:
        out = 'error-' + str(e.errno)
    results[pair] = out
    c.close()
ts = [threading.Thread(target=probe, args=(p,)) for p in sys.argv[1:]]
for t in ts: t.start()
for t in ts: t.join()
# Printed once all are done: threads printing as they finish can interleave their lines.
for pair in sys.argv[1:]: print(pair, results[pair])
`;

describe.skipIf(skipReason !== undefined)('silence rules in a namespace', () => {
  let nsCreated = false;
  let listener: ChildProcess | undefined;
  const inNs = (args: readonly string[], input?: string) => {
    const r = spawnSync('ip', ['netns', 'exec', NS, ...args], { input, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  const plan: SilencePlan = {
    network: '127.79.0.0/20',
    live: ['127.79.1.1', '127.79.1.2', '127.79.1.3'],
    firewalled: ['127.79.1.2'],
    slow: ['127.79.1.3'],
    open: [
      ['127.79.1.1', 8080],
      ['127.79.1.2', 8080],
      ['127.79.1.3', 8080],
    ],
  };

  beforeAll(async () => {
    spawnSync('ip', ['netns', 'add', NS], { timeout: 10_000 });
    nsCreated = true;
    inNs(['ip', 'link', 'set', 'lo', 'up']);
    inNs(['nft', '-f', '-'], silenceRuleset(plan));
    // `ip netns exec` execs in place, so the child's pid is python's own.
    listener = spawn('ip', ['netns', 'exec', NS, 'python3', '-c', listenerPy, ...plan.open.map(([ip, port]) => `${ip}:${port}`)], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      listener!.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      listener!.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
    });
  }, 60_000);

  afterAll(() => {
    if (listener?.pid) listener.kill('SIGKILL');
    if (nsCreated) spawnSync('ip', ['netns', 'del', NS], { timeout: 10_000 });
  });

  it('unused space and firewalled closed ports time out; open ports answer, slow ones after a dropped SYN', () => {
    const targets = {
      '127.79.1.1:8080': 'open',
      '127.79.1.1:8081': 'refused',
      '127.79.1.2:8080': 'open', // firewalled, but listening
      '127.79.1.2:8081': 'timeout', // firewalled closed port
      '127.79.1.3:8080': 'open', // slow: answers the retransmitted SYN
      '127.79.1.3:8081': 'refused',
      '127.79.1.9:8080': 'timeout', // no device
      '127.79.2.0:23': 'timeout',
      '127.80.0.1:8080': 'refused', // outside the lab network: untouched
    } as const;
    const out = inNs(['python3', '-c', clientPy, ...Object.keys(targets)]);
    const got = Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ') as [string, string]));
    expect(got).toEqual(targets);
    const counters = parseCounters(inNs(['nft', '-j', 'list', 'counters', 'table', 'inet', silenceTable]));
    // One first SYN lost per connection to the slow device (two connections), nothing more there.
    expect(counters.slow).toBe(2);
    expect(counters.unused).toBeGreaterThanOrEqual(2);
    expect(counters.firewalled).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
