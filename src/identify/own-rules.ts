/**
 * iotclean's own fingerprint rules: data files in src/identify/rules/*.yaml, one list of rules per
 * file, each written from a public reference (a maker's manual or product page, a published banner)
 * that the rule cites. Rules are JavaScript regular expressions over one input key (src/identify/inputs.ts),
 * with params under Recog's names; a param value may interpolate captures ("{1}", "{name}") and other
 * params ("{hw.product}"). Every rule carries examples, which the tests run. Within a key, rules are
 * tried in file order (files sorted by name), and the first that matches wins, as in Recog.
 */
import { z } from 'zod';
import { deviceTypes } from '../core/records.js';
import { IotcleanError } from '../core/errors.js';
import { defaultDataDir, firstIssue, readYamlFolder } from './data-files.js';
import { inputKeys } from './inputs.js';
import type { IdentifyInput, RuleMatch, RuleParams, RuleSource } from './source.js';

/** Recog-style parameter names: "hw.vendor", "service.cpe23", "device.type". */
const paramName = z.string().regex(/^[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+$/, 'a dotted lower-case name like hw.vendor');

const exampleSchema = z.strictObject({
  text: z.string().min(1),
  /** Params the rule must produce on this text (a subset of what it produces). */
  params: z.record(z.string(), z.string()).default({}),
});

const ruleSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'kebab-case: lower-case letters, digits and "-"'),
  key: z.enum(inputKeys),
  regex: z.string().min(1),
  flags: z.string().regex(/^[imsu]*$/, 'only the flags i, m, s, u (g and y keep state between calls)').default(''),
  params: z.record(paramName, z.string().min(1)).refine((p) => Object.keys(p).length > 0, 'at least one param'),
  confidence: z.number().min(0).max(1),
  description: z.string().min(1),
  reference: z.url(),
  examples: z.array(exampleSchema).min(1, 'at least one example, run by the tests'),
  /** Texts the rule must not match (near misses). */
  counterExamples: z.array(z.string()).default([]),
});

const fileSchema = z.strictObject({
  rules: z.array(z.unknown()).min(1),
});

export type OwnRule = z.infer<typeof ruleSchema>;

/** A piece of a param template: literal text, a capture group, or another param. */
type Piece = { readonly lit: string } | { readonly group: number | string } | { readonly param: string };

interface CompiledRule {
  readonly id: string;
  readonly file: string;
  readonly rule: OwnRule;
  readonly re: RegExp;
  /** Params without references first, so "{hw.product}" sees the value it names. */
  readonly params: readonly (readonly [string, readonly Piece[]])[];
}

function parseTemplate(value: string): Piece[] {
  const pieces: Piece[] = [];
  const re = /\{([^{}]+)\}/g;
  let last = 0;
  for (let m = re.exec(value); m; m = re.exec(value)) {
    if (m.index > last) pieces.push({ lit: value.slice(last, m.index) });
    const ref = m[1] ?? '';
    pieces.push(/^\d+$/.test(ref) ? { group: Number(ref) } : ref.includes('.') ? { param: ref } : { group: ref });
    last = m.index + m[0].length;
  }
  if (last < value.length) pieces.push({ lit: value.slice(last) });
  return pieces;
}

/** Validate one rule and compile its regex and templates; errors name the file and rule id. */
function compileRule(raw: unknown, index: number, file: string, stem: string): CompiledRule {
  const parsed = ruleSchema.safeParse(raw);
  const id = (raw as { id?: unknown } | null)?.id;
  const name = typeof id === 'string' ? `rule "${id}"` : `rule #${index + 1}`;
  if (!parsed.success) {
    throw new IotcleanError('E_RULES_FILE', `${name}: ${firstIssue(parsed.error)}`, {
      file,
      hint: 'each rule needs id, key, regex, params, confidence, description, reference and examples (src/identify/own-rules.ts)',
    });
  }
  const rule = parsed.data;
  let re: RegExp;
  try {
    re = new RegExp(rule.regex, rule.flags);
  } catch (e) {
    throw new IotcleanError('E_RULES_FILE', `${name}: bad regex: ${(e as Error).message}`, {
      file,
      hint: 'regexes use JavaScript syntax',
    });
  }
  const groups = new RegExp(`${rule.regex}|`, rule.flags).exec('')?.length ?? 1;
  const entries = Object.entries(rule.params).map(([k, v]) => [k, parseTemplate(v)] as const);
  for (const [k, pieces] of entries) {
    for (const p of pieces) {
      if ('group' in p && typeof p.group === 'number' && p.group >= groups) {
        throw new IotcleanError('E_RULES_FILE', `${name}: param ${k} uses capture {${p.group}} but the regex has ${groups - 1}`, { file });
      }
      if ('param' in p && !(p.param in rule.params)) {
        throw new IotcleanError('E_RULES_FILE', `${name}: param ${k} refers to {${p.param}}, which the rule does not set`, { file });
      }
    }
  }
  const type = rule.params['device.type'];
  if (type !== undefined && !type.includes('{') && !(deviceTypes as readonly string[]).includes(type)) {
    throw new IotcleanError('E_RULES_FILE', `${name}: device.type "${type}" is not one of ${deviceTypes.join(', ')}`, { file });
  }
  const hasRef = (pieces: readonly Piece[]): boolean => pieces.some((p) => 'param' in p);
  const params = [...entries.filter(([, p]) => !hasRef(p)), ...entries.filter(([, p]) => hasRef(p))];
  return { id: `iotclean:${stem}:${rule.id}`, file, rule, re, params };
}

function applyRule(c: CompiledRule, m: RegExpExecArray): RuleParams {
  const out: Record<string, string> = {};
  for (const [name, pieces] of c.params) {
    let value = '';
    let missing = false;
    for (const p of pieces) {
      if ('lit' in p) value += p.lit;
      else if ('group' in p) {
        const g = typeof p.group === 'number' ? m[p.group] : m.groups?.[p.group];
        if (g === undefined) missing = true;
        else value += g;
      } else {
        const v = out[p.param];
        if (v === undefined) missing = true;
        else value += v;
      }
    }
    value = value.trim();
    // An optional capture that did not take part leaves the param unset: unknown, not "".
    if (!missing && value !== '') out[name] = value;
  }
  return out;
}

/** A loaded rule set, with what the tests need to run each rule's examples. */
export interface OwnRuleSet extends RuleSource {
  readonly rules: readonly { readonly id: string; readonly file: string; readonly rule: OwnRule }[];
  /** Run one rule alone (for its examples). */
  run(id: string, text: string): RuleParams | undefined;
}

/** Build a rule set from already-parsed rule files (the loader and the tests share this). */
export function compileOwnRules(files: readonly { readonly file: string; readonly stem: string; readonly data: unknown }[]): OwnRuleSet {
  const byKey = new Map<string, CompiledRule[]>();
  const byId = new Map<string, CompiledRule>();
  const ids = new Map<string, string>();
  for (const f of files) {
    const parsed = fileSchema.safeParse(f.data);
    if (!parsed.success) {
      throw new IotcleanError('E_RULES_FILE', `bad rule file: ${firstIssue(parsed.error)}`, { file: f.file, hint: 'a rule file is "rules:" followed by a list of rules' });
    }
    parsed.data.rules.forEach((raw, i) => {
      const c = compileRule(raw, i, f.file, f.stem);
      const seen = ids.get(c.rule.id);
      if (seen !== undefined) {
        throw new IotcleanError('E_RULES_FILE', `rule "${c.rule.id}" is defined twice (also in ${seen})`, { file: f.file, hint: 'rule ids are unique across all rule files' });
      }
      ids.set(c.rule.id, f.file);
      byId.set(c.id, c);
      const list = byKey.get(c.rule.key);
      if (list) list.push(c);
      else byKey.set(c.rule.key, [c]);
    });
  }
  const source: RuleSource = {
    name: 'iotclean',
    keys: new Set(byKey.keys()),
    match(input: IdentifyInput): RuleMatch | undefined {
      const list = byKey.get(input.key);
      if (!list) return undefined;
      for (const c of list) {
        const m = c.re.exec(input.text);
        if (m) return { rule: c.id, source: 'iotclean', key: input.key, params: applyRule(c, m), confidence: c.rule.confidence };
      }
      return undefined;
    },
  };
  return {
    ...source,
    rules: [...byId.values()].map((c) => ({ id: c.id, file: c.file, rule: c.rule })),
    run(id, text) {
      const c = byId.get(id);
      const m = c?.re.exec(text);
      return c && m ? applyRule(c, m) : undefined;
    },
  };
}

/** Where iotclean's own rule files live by default. */
export function defaultRulesDir(): string {
  return defaultDataDir('rules', 'E_RULES_FILE');
}

/** Load and validate every rule file in a folder (default: src/identify/rules/). */
export function loadOwnRules(dir: string = defaultRulesDir()): OwnRuleSet {
  return compileOwnRules(readYamlFolder(dir, 'E_RULES_FILE', 'fingerprint rule'));
}
