/**
 * Recog's own check (recog_verify, Recog::Fingerprint#verify_tests) run on the converted patterns:
 * every `<example>` must match its fingerprint and yield every param its attributes name, with
 * the same value. A test, the bench and a CLI print the same figures from here.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileRecog, matchFingerprint, recogSource, type CompiledFingerprint } from './loader.js';

export interface RecogExampleFailure {
  readonly file: string;
  readonly index: number;
  /** The example text (bounded for printing). */
  readonly example: string;
  readonly reason: string;
}

export interface RecogExamplesReport {
  readonly total: number;
  readonly passed: number;
  /** Examples whose fingerprint was not converted (counted in total, failed with that reason). */
  readonly ofUnconverted: number;
  /**
   * Examples that pass alone but that the key's first-match order hands to an earlier
   * fingerprint: as in Recog, that one wins in a real match. Informational.
   */
  readonly shadowed: number;
  readonly failures: readonly RecogExampleFailure[];
}

function shown(text: string): string {
  const t = JSON.stringify(text);
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}

/** The example's text: inline, or Recog's xml/<database>/<_filename> beside the database. */
function exampleText(dir: string, fp: CompiledFingerprint, ex: { text: string; filename: string | null; encoding: string | null }): string | undefined {
  if (ex.filename === null) return ex.text;
  const path = join(dir, fp.file.replace(/\.xml$/, ''), ex.filename);
  if (!existsSync(path)) return undefined;
  const bytes = readFileSync(path);
  return ex.encoding === 'base64' ? Buffer.from(bytes.toString('latin1'), 'base64').toString('latin1') : bytes.toString('latin1');
}

/** Runs every example of every database in `dir`. */
export function runRecogExamples(dir: string): RecogExamplesReport {
  const compiled = compileRecog(dir);
  const source = recogSource(compiled);
  let total = 0;
  let passed = 0;
  let ofUnconverted = 0;
  let shadowed = 0;
  const failures: RecogExampleFailure[] = [];
  for (const fp of compiled.fingerprints) {
    for (const ex of fp.examples) {
      total++;
      const fail = (reason: string): void => {
        failures.push({ file: fp.file, index: fp.index, example: shown(ex.text), reason });
      };
      if (!fp.regex) {
        ofUnconverted++;
        fail(`pattern not converted: ${fp.unconverted ?? ''}`);
        continue;
      }
      const text = exampleText(dir, fp, ex);
      if (text === undefined) {
        fail(`example file ${ex.filename ?? ''} not found beside the database`);
        continue;
      }
      const result = matchFingerprint(fp, text);
      if (!result) {
        fail(`${fp.description || fp.pattern} did not match`);
        continue;
      }
      const wrong = Object.entries(ex.expect).find(([k, v]) => result.get(k) !== v);
      if (wrong) {
        fail(`param ${wrong[0]}: expected ${JSON.stringify(wrong[1])}, got ${JSON.stringify(result.get(wrong[0]) ?? null)}`);
        continue;
      }
      passed++;
      if (source.match({ key: fp.key, text })?.rule !== fp.rule) shadowed++;
    }
  }
  return { total, passed, ofUnconverted, shadowed, failures };
}
