import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IotcleanError } from '../core/errors.js';
import { isServiceName } from '../pipeline/services.js';
import { stageNames, stages } from '../pipeline/stages.js';
import { defaultPlanPath, loadDefaultPlan, loadPlan, parsePlan, planDigest, withPortMap, wellKnownPorts } from './plan.js';

/** Parse and return the error it must throw. */
function planError(text: string): IotcleanError {
  try {
    parsePlan(text, 'bad.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(IotcleanError);
    return e as IotcleanError;
  }
  throw new Error('expected the plan to be refused');
}

const head = 'version: "t-1"\nname: test\n';

describe('default plan', () => {
  it('loads, with 40 unique TCP ports each with a one-line reason', async () => {
    const plan = await loadDefaultPlan();
    expect(plan.ports).toHaveLength(40);
    expect(new Set(plan.ports.map((p) => p.port)).size).toBe(40);
    for (const p of plan.ports) {
      expect(p.port).toBeGreaterThanOrEqual(1);
      expect(p.port).toBeLessThanOrEqual(65535);
      expect(p.service).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(p.reason.length).toBeGreaterThan(10);
      expect(p.reason).not.toMatch(/\n/);
    }
    expect(plan.version).toMatch(/^\d{4}\.\d{2}-\d+$/);
    expect(plan.rate).toBe(20000);
    expect(plan.modules).toEqual(['discover', 'grab', 'identify', 'vuln', 'access']);
    expect(plan.grab).toEqual({ concurrency: 64, batchSize: 200 });
    expect(plan.ports.find((p) => p.port === 1883)?.service).toBe('mqtt');
  });

  it('covers the ports Mirai-family bots and NOTICE are known to probe', async () => {
    const ports = new Set((await loadDefaultPlan()).ports.map((p) => p.port));
    for (const p of [21, 22, 23, 80, 81, 443, 554, 2323, 5000, 5001, 7547, 8000, 8080, 8081, 8443, 8888, 9000, 34567, 37215, 37777, 49152, 52869]) {
      expect(ports.has(p), `port ${p}`).toBe(true);
    }
  });

  it('is found relative to the package root', () => {
    const path = defaultPlanPath();
    expect(path.endsWith(join('plans', 'default.yaml'))).toBe(true);
    expect(existsSync(path)).toBe(true);
    expect(existsSync(join(path, '..', '..', 'package.json'))).toBe(true);
  });

  it('is frozen', async () => {
    const plan = await loadDefaultPlan();
    expect(Object.isFrozen(plan)).toBe(true);
    expect(Object.isFrozen(plan.ports)).toBe(true);
  });
});

describe('parsePlan', () => {
  it('fills defaults', () => {
    const plan = parsePlan(`${head}ports:\n  - {port: 23, service: telnet, reason: Mirai}\n`, 'p.yaml');
    expect(plan).toEqual({
      version: 't-1',
      name: 'test',
      description: '',
      rate: 20000,
      concurrency: 1024,
      timeoutMs: 3000,
      retries: 1,
      grab: { concurrency: 64, batchSize: 200 },
      modules: ['discover'],
      ports: [{ port: 23, service: 'telnet', reason: 'Mirai' }],
    });
  });

  it('takes grab options and refuses unknown or bad ones with the allowed keys', () => {
    const ports = 'ports:\n  - {port: 23, service: telnet, reason: r}\n';
    expect(parsePlan(`${head}grab:\n  concurrency: 8\n${ports}`, 'p.yaml').grab).toEqual({ concurrency: 8, batchSize: 200 });
    expect(planError(`${head}grab:\n  concurency: 8\n${ports}`).message).toMatch(/unknown key "concurency" in grab \(allowed: concurrency, batchSize\)/);
    expect(planError(`${head}grab:\n  concurrency: 0\n${ports}`).message).toMatch(/grab\.concurrency: must be > 0/);
  });

  it('resolves port names; the name is the service unless one is given', () => {
    const plan = parsePlan(
      `${head}ports:\n  - port: telnet\n    reason: a\n  - port: cwmp\n    service: http\n    reason: b\n  - {port: https, reason: c}\n  - {port: telnet-alt, reason: d}\n`,
      'p.yaml',
    );
    expect(plan.ports).toEqual([
      { port: 23, service: 'telnet', reason: 'a' },
      { port: 7547, service: 'http', reason: 'b' },
      { port: 443, service: 'https', reason: 'c' },
      { port: 2323, service: 'telnet', reason: 'd' },
    ]);
  });

  it('every port name stands for a known service', () => {
    for (const name of Object.keys(wellKnownPorts)) {
      const plan = parsePlan(`${head}ports:\n  - {port: ${name}, reason: r}\n`, 'p.yaml');
      expect(isServiceName(plan.ports[0]!.service), name).toBe(true);
    }
  });

  it('takes its stage names from the stage registry', () => {
    const plan = parsePlan(`${head}modules: [discover]\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 'p.yaml');
    expect(plan.modules).toEqual(['discover']);
    for (const name of stageNames) {
      const text = `${head}modules: [${name}]\nports:\n  - {port: 23, service: telnet, reason: r}\n`;
      if (stages[name].available) expect(parsePlan(text, 'p.yaml').modules).toEqual([name]);
      else expect(planError(text).message).toMatch(/not available yet/);
    }
  });

  it('knows the common names', () => {
    expect(wellKnownPorts).toMatchObject({ telnet: 23, ssh: 22, http: 80, https: 443, rtsp: 554, cwmp: 7547 });
  });

  // [what, yaml, line, message pattern]
  const bad: [string, string, number, RegExp][] = [
    ['unknown top-level key', `${head}colour: blue\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 3, /unknown key "colour".*allowed: version, name/],
    ['unknown key in a port', `${head}ports:\n  - port: 23\n    service: telnet\n    reason: r\n    proto: udp\n`, 7, /unknown key "proto" in ports\[0\].*allowed: port, service, reason/],
    ['port out of range', `${head}ports:\n  - {port: 23, service: telnet, reason: r}\n  - {port: 65536, service: http, reason: r}\n`, 5, /ports\[1\]\.port: must be in 1\.\.65535 \(got 65536\)/],
    ['port zero', `${head}ports:\n  - {port: 0, service: http, reason: r}\n`, 4, /must be in 1\.\.65535/],
    ['fractional port', `${head}ports:\n  - {port: 80.5, service: http, reason: r}\n`, 4, /whole number/],
    ['duplicate port', `${head}ports:\n  - {port: 23, service: telnet, reason: r}\n  - {port: 80, service: http, reason: r}\n  - {port: telnet, reason: again}\n`, 6, /duplicate port 23 \(also ports\[0\]\)/],
    ['unknown port name', `${head}ports:\n  - {port: 23, service: telnet, reason: r}\n  - port: telnett\n    reason: r\n`, 5, /unknown port name "telnett"/],
    ['bad type', `${head}concurrency: lots\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 3, /concurrency: must be a number \(got "lots"\)/],
    ['rate zero', `${head}rate: 0\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 3, /rate: must be > 0/],
    ['negative rate', `${head}rate: -5\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 3, /rate: must be > 0/],
    ['empty ports', `${head}rate: 10\nports: []\n`, 4, /ports: must not be empty/],
    ['missing ports', `${head}rate: 10\n`, 1, /ports: is required/],
    ['missing reason', `${head}ports:\n  - {port: 23, service: telnet, reason: r}\n  - {port: 2323, service: telnet}\n`, 5, /ports\[1\]\.reason: is required/],
    ['number port without service', `${head}ports:\n  - port: 8080\n    reason: r\n`, 4, /ports\[0\]\.service: is required when port is a number/],
    ['unquoted numeric version', `version: 2026.11\nname: x\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 1, /version: must be text; quote it/],
    ['unknown module', `${head}modules: [discover, pwn]\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 3, /modules\[1\]: unknown stage "pwn"/],
    ['unknown module', `${head}modules:\n  - discover\n  - vulns\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 5, /modules\[1\]: unknown stage "vulns"/],
    ['modules not a list', `${head}modules: discover\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 3, /modules: must be a list of stage names/],
    ['duplicate module', `${head}modules: [discover, discover]\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 3, /module "discover" is listed twice/],
    ['unknown service', `${head}ports:\n  - {port: 23, service: telnet, reason: r}\n  - port: 8080\n    service: htttp\n    reason: r\n`, 6, /ports\[1\]\.service: unknown service "htttp"/],
    ['multi-line reason', `${head}ports:\n  - port: 23\n    service: telnet\n    reason: |\n      two\n      lines\n`, 6, /reason: must be one line/],
    ['YAML syntax error', `${head}ports:\n  - {port: 23, service: telnet, reason: r\nrate: 5\n`, 5, /YAML syntax/],
    ['duplicate YAML key', `${head}rate: 1\nrate: 2\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 4, /YAML syntax: Map keys must be unique/],
    ['tab indentation', `${head}ports:\n\t- {port: 23, service: telnet, reason: r}\n`, 4, /YAML syntax/],
    ['two documents', `${head}ports:\n  - {port: 23, service: telnet, reason: r}\n---\nname: y\n`, 5, /YAML syntax: .*multiple documents/],
    ['unresolved alias', `${head}rate: *fast\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 3, /YAML: Unresolved alias/],
    ['empty file', '', 1, /plan file is empty/],
    ['comments only', '# nothing yet\n', 1, /plan file is empty/],
    ['not a mapping', '- 23\n- 80\n', 1, /must be a mapping/],
  ];

  it.each(bad)('refuses %s with the line of the offending node', (_what, text, line, message) => {
    const e = planError(text);
    expect(e.code).toBe('E_PLAN_FILE');
    expect(e.where.file).toBe('bad.yaml');
    expect(e.message).toMatch(message);
    expect(e.where.line).toBe(line);
  });

  it('reports the first problem in the file and counts the rest', () => {
    const e = planError(`${head}rate: 0\nretries: -1\nports:\n  - {port: 99999, service: x, reason: r}\n`);
    expect(e.where.line).toBe(3);
    expect(e.where.hint).toMatch(/2 more problem/);
  });

  it('hints at the names it knows', () => {
    const e = planError(`${head}ports:\n  - {port: telnat, reason: r}\n`);
    expect(e.where.hint).toMatch(/telnet/);
    expect(e.format()).toMatch(/^E_PLAN_FILE bad\.yaml:4: ports\[0\]\.port: unknown port name "telnat"/);
  });
});

describe('loadPlan', () => {
  it('names an unreadable file', async () => {
    const missing = join(tmpdir(), 'iotclean-no-such-plan.yaml');
    await expect(loadPlan(missing)).rejects.toMatchObject({ code: 'E_PLAN_FILE', where: { file: missing } });
  });

  it('reads a plan file and reports its path in errors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iotclean-plan-'));
    const good = join(dir, 'good.yaml');
    const bad = join(dir, 'bad.yaml');
    await writeFile(good, `${head}ports:\n  - {port: ssh, reason: r}\n`);
    await writeFile(bad, `${head}ports:\n  - {port: ssh, reason: r, oops: 1}\n`);
    expect((await loadPlan(good)).ports[0]).toEqual({ port: 22, service: 'ssh', reason: 'r' });
    await expect(loadPlan(bad)).rejects.toMatchObject({ code: 'E_PLAN_FILE', where: { file: bad, line: 4 } });
  });
});

describe('withPortMap', () => {
  const plan = parsePlan(
    `${head}ports:\n  - {port: 23, service: telnet, reason: a}\n  - {port: 80, service: http, reason: b}\n  - {port: 554, service: rtsp, reason: c}\n`,
    'p.yaml',
  );

  it('remaps listed ports and keeps the rest, services and reasons', () => {
    const lab = withPortMap(plan, new Map([[23, 10023], [80, 10080]]));
    expect(lab.ports).toEqual([
      { port: 10023, service: 'telnet', reason: 'a' },
      { port: 10080, service: 'http', reason: 'b' },
      { port: 554, service: 'rtsp', reason: 'c' },
    ]);
    expect(lab.version).toBe(plan.version);
    expect(plan.ports[0]?.port).toBe(23); // the original is untouched
    expect(planDigest(lab)).not.toBe(planDigest(plan));
  });

  it('refuses a map that merges two ports or leaves the port range', () => {
    expect(() => withPortMap(plan, new Map([[23, 554]]))).toThrow(/sends both 23 and 554 to 554|sends both/);
    expect(() => withPortMap(plan, new Map([[23, 70000]]))).toThrow(/outside 1\.\.65535/);
  });

  it('swapping two ports is fine', () => {
    const swapped = withPortMap(plan, new Map([[23, 80], [80, 23]]));
    expect(swapped.ports.map((p) => [p.port, p.service])).toEqual([[80, 'telnet'], [23, 'http'], [554, 'rtsp']]);
  });
});

describe('planDigest', () => {
  it('depends on content, not on how the YAML was written', () => {
    const a = parsePlan(`${head}rate: 100\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 'a.yaml');
    const b = parsePlan(`# same plan\nrate: 100\nports:\n  - reason: r\n    port: telnet\nname: test\nversion: "t-1"\n`, 'b.yaml');
    const c = parsePlan(`${head}rate: 101\nports:\n  - {port: 23, service: telnet, reason: r}\n`, 'c.yaml');
    expect(planDigest(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(planDigest(b)).toBe(planDigest(a));
    expect(planDigest(c)).not.toBe(planDigest(a));
  });
});
