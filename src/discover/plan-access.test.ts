/** The plan's access block: its strict schema and the dictionary it names, bound by digest. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDictionary } from '../access/dictionary/dictionary.js';
import { IotcleanError } from '../core/errors.js';
import { loadDefaultPlan, loadPlan, parsePlan, planDigest, surveyPlanSchema } from './plan.js';

const head = 'version: "t-1"\nname: test\nports:\n  - {port: 23, service: telnet, reason: r}\n';
const dictText = (password: string): string =>
  `version: "d-1"\nname: mine\nsources:\n  pub: { title: "a list", url: "https://example.org/" }\nentries:\n  - { id: m-001, username: root, password: "${password}", sources: [pub] }\n`;

function planError(text: string): IotcleanError {
  try {
    parsePlan(text, 'bad.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(IotcleanError);
    return e as IotcleanError;
  }
  throw new Error('expected the plan to be refused');
}

describe('plan access block', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iotclean-plan-access-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is optional, and filled with defaults when present', () => {
    expect(parsePlan(head, 'p.yaml').access).toBeUndefined();
    expect(parsePlan(`${head}access: {}\n`, 'p.yaml').access).toEqual({ dictionary: 'default', pauseMs: 200, maxAttemptsPerHost: 3000, concurrency: 64, lockoutBackoffMs: 300000 });
  });

  it.each([
    ['an unknown key', 'access: {dictionary: default, pause: 5}\n', 5, /unknown key "pause" in access \(allowed: dictionary, dictionaryDigest, pauseMs/],
    ['a bare name that is not built in', 'access: {dictionary: mylist}\n', 5, /must be a built-in list \(default\) or a path to a \.yaml file/],
    ['a negative pause', 'access: {pauseMs: -1}\n', 5, /access\.pauseMs: must be >= 0/],
    ['zero attempts', 'access: {maxAttemptsPerHost: 0}\n', 5, /access\.maxAttemptsPerHost: must be > 0/],
    ['a digest that is not sha256', 'access: {dictionaryDigest: abc}\n', 5, /must be a sha256/],
    ['a stage that does not exist', 'modules: [discover, vulns]\n', 5, /unknown stage "vulns"/],
  ])('refuses %s with its line', (_what, extra, line, pattern) => {
    const e = planError(head + extra);
    expect(e.code).toBe('E_PLAN_FILE');
    expect(e.where.line).toBe(line);
    expect(e.message).toMatch(pattern);
  });

  it("binds the default plan to the built-in list's digest", async () => {
    const plan = await loadDefaultPlan();
    expect(plan.version).not.toBe('2026.12-1');
    expect(plan.access?.dictionary).toBe('default');
    expect(plan.access?.dictionaryDigest).toBe((await loadDictionary()).digest);
    // The bound plan is still a valid plan (it is stored and re-read by digest).
    expect(surveyPlanSchema.parse(JSON.parse(JSON.stringify(plan)))).toEqual(plan);
  });

  it('loads a list relative to the plan file, and the plan digest follows its content', async () => {
    const sub = join(dir, 'rel');
    rmSync(sub, { recursive: true, force: true });
    mkdirSync(join(sub, 'lists'), { recursive: true });
    const planFile = join(sub, 'plan.yaml');
    writeFileSync(planFile, `${head}access: {dictionary: lists/mine.yaml}\n`);
    writeFileSync(join(sub, 'lists', 'mine.yaml'), dictText('one'));
    const a = await loadPlan(planFile);
    expect(a.access?.dictionaryDigest).toBe((await loadDictionary(join(sub, 'lists', 'mine.yaml'))).digest);
    writeFileSync(join(sub, 'lists', 'mine.yaml'), dictText('two'));
    const b = await loadPlan(planFile);
    expect(b.access?.dictionaryDigest).not.toBe(a.access?.dictionaryDigest);
    expect(planDigest(b)).not.toBe(planDigest(a));
  });

  it('refuses a list whose digest is not the one the plan pins', async () => {
    const list = join(dir, 'pinned.yaml');
    writeFileSync(list, dictText('one'));
    const digest = (await loadDictionary(list)).digest;
    const planFile = join(dir, 'pinned-plan.yaml');
    writeFileSync(planFile, `${head}access: {dictionary: pinned.yaml, dictionaryDigest: "${digest}"}\n`);
    expect((await loadPlan(planFile)).access?.dictionaryDigest).toBe(digest);
    writeFileSync(list, dictText('edited'));
    await expect(loadPlan(planFile)).rejects.toMatchObject({ code: 'E_PLAN_FILE', message: expect.stringMatching(/has changed since the plan pinned it/), where: { file: planFile } });
  });

  it('names a missing list file', async () => {
    const planFile = join(dir, 'missing-plan.yaml');
    writeFileSync(planFile, `${head}access: {dictionary: nowhere.yaml}\n`);
    await expect(loadPlan(planFile)).rejects.toMatchObject({ code: 'E_DICTIONARY_FILE', where: { file: join(dir, 'nowhere.yaml') } });
  });
});
