/**
 * The lab's ground truth is for the lab, tests and benchmarks only: detection code that read it
 * would "find" exactly the truth and prove nothing. This checks the whole repository with the
 * TypeScript parser (imports) and a plain text search (the file name).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { groundTruthFile } from './ground-truth.js';
import { sourceImports } from './source-imports.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const truthModule = 'src/lab/ground-truth.ts';
/** Modules that score against the truth or record it (lock periods): for the lab, tests and benchmarks only too. */
const truthSideModules = [truthModule, 'src/lab/score.ts', 'src/lab/score-access.ts', 'src/lab/lockouts.ts'];

interface SourceFile {
  /** Path relative to the repository root, with / separators. */
  readonly path: string;
  readonly text: string;
}

/** Lab code, tests and benchmarks may use the truth; everything else is detection or product code. */
function mayUseTruth(path: string): boolean {
  return path.startsWith('src/lab/') || path.startsWith('test/') || path.startsWith('bench/') || /\.test\.[cm]?[jt]s$/.test(path);
}

/** The repository path a relative specifier names, as its .ts source. */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const abs = resolve(root, dirname(from), specifier);
  return relative(root, abs).split(sep).join('/').replace(/\.[cm]?js$/, '.ts');
}

/** Every way these files break the rule, one line each. */
function truthLeaks(files: readonly SourceFile[]): string[] {
  const leaks: string[] = [];
  for (const f of files) {
    const uses = sourceImports(f.path, f.text).filter((i) => resolveSpecifier(f.path, i.specifier) === truthModule);
    if (!mayUseTruth(f.path)) {
      if (uses.length > 0) leaks.push(`${f.path} imports ${truthModule}`);
      for (const i of sourceImports(f.path, f.text)) {
        const target = resolveSpecifier(f.path, i.specifier);
        if (target !== undefined && target !== truthModule && truthSideModules.includes(target)) leaks.push(`${f.path} imports ${target}`);
      }
      if (f.text.includes(groundTruthFile)) leaks.push(`${f.path} mentions ${groundTruthFile}`);
    } else if (uses.some((i) => i.kind === 'export')) {
      // A lab module re-exporting the truth would let detection code reach it through that module.
      leaks.push(`${f.path} re-exports ${truthModule}`);
    }
  }
  return leaks;
}

/** Source files of the repository (not node_modules, dist or data). */
function repositoryFiles(): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = dir ? `${dir}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!['node_modules', 'dist', 'data', '.git', '.lab'].includes(e.name)) walk(path);
      } else if (/\.(?:[cm]?[jt]s|tsx)$/.test(e.name)) {
        out.push({ path, text: readFileSync(join(root, path), 'utf8') });
      }
    }
  };
  for (const top of ['src', 'bin', 'test', 'bench']) walk(top);
  return out;
}

describe('ground truth isolation', () => {
  it('finds a leak in hand-made examples, and none in allowed uses', () => {
    const examples: SourceFile[] = [
      { path: 'src/identify/cheat.ts', text: "import { readGroundTruth } from '../lab/ground-truth.js';\n" },
      { path: 'src/grab/peek.ts', text: "export type { GroundTruth } from '../lab/ground-truth.js';\n" },
      { path: 'src/access/sneak.ts', text: "const t = readFileSync(join(dir, 'ground-truth.json'), 'utf8');\n" },
      { path: 'src/cli/lazy.ts', text: "const m = await import('../lab/ground-truth.js');\n" },
      { path: 'src/access/peek.ts', text: "import { scoreAccess } from '../lab/score-access.js';\nimport { readLockouts } from '../lab/lockouts.js';\n" },
      { path: 'src/lab/barrel.ts', text: "export { readGroundTruth } from './ground-truth.js';\n" },
      // Allowed: tests, benchmarks, and the lab using the truth itself.
      { path: 'test/x.test.ts', text: "import { readGroundTruth } from '../src/lab/ground-truth.js';\n" },
      { path: 'bench/y.ts', text: "import { readGroundTruth } from '../src/lab/ground-truth.js';\n" },
      { path: 'src/identify/rules.test.ts', text: "// compares with ground-truth.json\n" },
      { path: 'src/lab/runtime.ts', text: "import { writeGroundTruth } from './ground-truth.js';\n" },
      // A comment or string that only looks like an import is not one.
      { path: 'src/grab/doc.ts', text: "// never import from '../lab/ground-truth.js' here\n" },
    ];
    expect(truthLeaks(examples)).toEqual([
      `src/identify/cheat.ts imports ${truthModule}`,
      `src/grab/peek.ts imports ${truthModule}`,
      `src/access/sneak.ts mentions ${groundTruthFile}`,
      `src/cli/lazy.ts imports ${truthModule}`,
      'src/access/peek.ts imports src/lab/score-access.ts',
      'src/access/peek.ts imports src/lab/lockouts.ts',
      `src/lab/barrel.ts re-exports ${truthModule}`,
    ]);
  });

  it('no code outside the lab, tests and benchmarks imports the ground truth or names its file', () => {
    const files = repositoryFiles();
    expect(files.some((f) => f.path === truthModule)).toBe(true);
    expect(files.some((f) => f.path.startsWith('src/cli/'))).toBe(true);
    expect(truthLeaks(files)).toEqual([]);
  });
});
