/**
 * Loading the identifier from its data: iotclean's own rules, the device-model catalogue and,
 * when the operator points at one, a copy of Recog's xml/ folder.
 */
import type { RuleSource } from './source.js';
import { loadOwnRules } from './own-rules.js';
import { loadCatalogue } from './catalogue.js';
import { createIdentifier, type Identifier } from './engine.js';
import { loadRecog } from './recog/loader.js';

export interface LoadIdentifierOptions {
  /** A folder of Recog XML databases (Recog's xml/), optional. */
  readonly recogDir?: string;
  /** iotclean's rule files (default src/identify/rules/). */
  readonly rulesDir?: string;
  /** Catalogue files (default src/identify/catalogue/). */
  readonly catalogueDir?: string;
  readonly now?: () => string;
}

/** What was loaded, for `--json` output and the bench. */
export interface IdentifierLoadReport {
  readonly sources: readonly { readonly name: string; readonly rules: number; readonly keys: readonly string[] }[];
  readonly catalogueEntries: number;
  /** Things the operator should know (a source asked for but not loaded, patterns skipped). */
  readonly warnings: readonly string[];
}

/** Load rule sources and the catalogue and build the identifier; bad files fail with E_RULES_FILE / E_CATALOGUE_FILE. */
export function loadIdentifier(options: LoadIdentifierOptions = {}): { identifier: Identifier; report: IdentifierLoadReport } {
  const own = loadOwnRules(options.rulesDir);
  const catalogue = loadCatalogue(options.catalogueDir);
  // Own rules first: on equal confidence the rule written for the device wins over a generic one.
  const sources: RuleSource[] = [own];
  const counts: { name: string; rules: number; keys: string[] }[] = [{ name: own.name, rules: own.rules.length, keys: [...own.keys].sort() }];
  const warnings: string[] = [];
  if (options.recogDir !== undefined) {
    const recog = loadRecog(options.recogDir);
    sources.push(recog.source);
    counts.push({ name: recog.source.name, rules: recog.fingerprints - recog.unconverted.length, keys: [...recog.source.keys].sort() });
    for (const u of recog.unconverted) warnings.push(`recog ${u.file} #${u.index}: not converted (${u.reason})`);
  }
  const identifier = createIdentifier({ sources, catalogue, ...(options.now ? { now: options.now } : {}) });
  return { identifier, report: { sources: counts, catalogueEntries: catalogue.entries.length, warnings } };
}
