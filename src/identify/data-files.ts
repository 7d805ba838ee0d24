/** Finding and reading identify's data folders (rules, catalogue): YAML files validated by the caller. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { IotcleanError, type ErrorCode } from '../core/errors.js';
import { unreadableFile } from '../core/files.js';

/**
 * A data folder of src/identify: next to this module when running from source, else the source
 * folder when running compiled from dist/ (tsc does not copy data files).
 */
export function defaultDataDir(name: string, code: ErrorCode): string {
  const candidates = [
    fileURLToPath(new URL(`./${name}/`, import.meta.url)),
    fileURLToPath(new URL(`../../../src/identify/${name}/`, import.meta.url)),
  ];
  for (const dir of candidates) if (existsSync(dir)) return dir;
  throw new IotcleanError(code, `identify data folder "${name}" not found`, { hint: `looked in ${candidates.join(', ')}` });
}

/** One parsed YAML file. */
export interface YamlFile {
  readonly file: string;
  /** File name without ".yaml", used in rule ids. */
  readonly stem: string;
  readonly data: unknown;
}

/** Every *.yaml / *.yml file of a folder, sorted by name, parsed (not yet validated). */
export function readYamlFolder(dir: string, code: ErrorCode, what: string): YamlFile[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch (e) {
    throw unreadableFile(dir, { code, name: `${what} folder`, hint: `pass an existing folder of ${what} files` }, e);
  }
  return names.map((name) => {
    const file = join(dir, name);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw unreadableFile(file, { code, name: `${what} file`, hint: 'check the file permissions' }, e);
    }
    let data: unknown;
    try {
      data = parseYaml(text, { uniqueKeys: true });
    } catch (e) {
      const line = (e as { linePos?: readonly { line: number }[] }).linePos?.[0]?.line;
      throw new IotcleanError(code, `not valid YAML: ${(e as Error).message.split('\n')[0]}`, {
        file,
        ...(line ? { line } : {}),
        hint: 'fix the YAML syntax',
      });
    }
    return { file, stem: name.replace(/\.ya?ml$/, ''), data };
  });
}

/** "path.to.field: message" for the first zod issue, for error messages. */
export function firstIssue(error: { readonly issues: readonly { readonly path: readonly PropertyKey[]; readonly message: string }[] }): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  return path ? `${path}: ${issue.message}` : issue.message;
}
