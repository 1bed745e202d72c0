/**
 * Declaration-only files (`.d.ts`, `.pyi`, a TypeScript module of nothing but types) describe
 * behaviour in doc comments and option names, so they match a behaviour question in both rankings,
 * while the code that does it lives elsewhere. Search damps them unless the query asks about types.
 */

const DECLARATION_EXTENSION = /\.d\.[cm]?ts$|\.pyi$/;
const TYPESCRIPT_EXTENSION = /\.[cm]?tsx?$/;

/** A top-level statement that does something at run time (declarations and re-exports do not). */
const RUNTIME_STATEMENT =
  /^(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:abstract\s+)?(?:function|class|const|let|var|enum|if|for|while|try|switch|new|await|module\.exports|exports\.)\b|^export\s+default\s+(?!interface\b|type\b)/;

/** Whether `path` holds declarations only; `text` is the file's text (its chunks joined). */
export function isDeclarationOnly(path: string, text: string): boolean {
  if (DECLARATION_EXTENSION.test(path)) return true;
  if (!TYPESCRIPT_EXTENSION.test(path)) return false;
  let declarations = 0;
  for (const line of text.split('\n')) {
    if (RUNTIME_STATEMENT.test(line)) return false;
    if (/^(?:export\s+)?(?:declare\s+)?(?:interface|type)\s/.test(line)) declarations++;
  }
  // A file of imports and re-exports alone (a barrel) is no answer either, but only types count here.
  return declarations > 0;
}

/** Whether a query is about types (then declaration files are answers, not noise). */
export function asksAboutTypes(query: string): boolean {
  return /\b(?:types?|typescript|typed|typings|generics?|interfaces?|declarations?|signatures?)\b/i.test(query);
}
