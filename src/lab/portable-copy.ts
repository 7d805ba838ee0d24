/**
 * Test support: copy a source module and the relative modules it loads, compiled to plain ESM
 * JavaScript, into a folder of their own. A test that runs code as another user (nobody) runs this
 * copy, so it never needs to enter the checkout (which may be a 0700 folder such as /root/...) and
 * never resolves a package from it. Modules that load an npm package are refused: the copy has no
 * node_modules. Not used by the product.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { sourceImports } from './source-imports.js';

const compilerOptions: ts.CompilerOptions = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2022,
  verbatimModuleSyntax: true,
};

/**
 * Compile `entry` (an absolute .ts path under `root`) and every relative module it loads into
 * `outDir`, keeping their paths relative to `root`; make the copy readable by every user. Returns
 * the path of the compiled entry.
 */
export function copyPortable(entry: string, root: string, outDir: string): string {
  const seen = new Set<string>();
  const queue = [resolve(entry)];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const rel = relative(root, file);
    if (rel.startsWith('..')) throw new Error(`${file} is outside ${root}`);
    const text = readFileSync(file, 'utf8');
    for (const { specifier, typeOnly } of sourceImports(file, text)) {
      if (typeOnly || specifier.startsWith('node:')) continue;
      if (!specifier.startsWith('.')) {
        throw new Error(`${rel} loads the package ${specifier}; a portable copy has no node_modules`);
      }
      if (!specifier.endsWith('.js')) throw new Error(`${rel} imports ${specifier}; only .js specifiers of .ts sources are copied`);
      queue.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
    }
    const js = ts.transpileModule(text, { compilerOptions, fileName: file }).outputText;
    const target = join(outDir, rel.replace(/\.ts$/, '.js'));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
  }
  writeFileSync(join(outDir, 'package.json'), '{ "type": "module" }\n');
  makeReadable(outDir);
  return join(outDir, relative(root, resolve(entry)).replace(/\.ts$/, '.js'));
}

/** chmod 0755 on folders and 0644 on files, below and including `dir`. */
function makeReadable(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) makeReadable(path);
    else chmodSync(path, 0o644);
  }
}
