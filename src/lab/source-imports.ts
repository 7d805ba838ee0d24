/**
 * Test support: the module specifiers a TypeScript source imports or re-exports, read with the
 * TypeScript parser (not a regex, so comments and strings cannot fool it). Not used by the product.
 */
import ts from 'typescript';

/** One import or re-export of a source file. */
export interface SourceImport {
  readonly specifier: string;
  /** How it is loaded: `import`, `export ... from`, `import('...')`, or a type position `import('...').T`. */
  readonly kind: 'import' | 'export' | 'dynamic' | 'type';
  /** `import type` / `export type`: erased when compiled, so it loads nothing at run time. */
  readonly typeOnly: boolean;
}

/** Imports, re-exports and dynamic `import('...')` calls with a literal specifier. */
export function sourceImports(fileName: string, text: string): SourceImport[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: SourceImport[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ specifier: node.moduleSpecifier.text, kind: 'import', typeOnly: node.importClause?.isTypeOnly ?? false });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push({ specifier: node.moduleSpecifier.text, kind: 'export', typeOnly: node.isTypeOnly });
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference) && ts.isStringLiteral(node.moduleReference.expression)) {
      out.push({ specifier: node.moduleReference.expression.text, kind: 'import', typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg && ts.isStringLiteralLike(arg)) out.push({ specifier: arg.text, kind: 'dynamic', typeOnly: false });
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push({ specifier: node.argument.literal.text, kind: 'type', typeOnly: true });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}
