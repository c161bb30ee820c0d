import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The thread boundary, read from the sources: workers/ reaches only workers/ and src/common/;
 * src/common/ reaches only itself (and the config types, as `import type`); the rest of src/ never
 * reaches workers/. npm packages and node:* are open to all.
 */

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** The one file src/common/ may import from outside, and only as `import type`: WorkerInit is typed from it. */
const CONFIG_TYPES = 'src/config/schema.ts';

interface Import {
  specifier: string;
  typeOnly: boolean;
}

/** Every module specifier of a source: static, re-exports, dynamic `import()` and `import('…')` types. */
function importsOf(file: string, text: string): Import[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: Import[] = [];
  const literal = (node: ts.Node | undefined): string | undefined => (node && ts.isStringLiteralLike(node) ? node.text : undefined);
  const visit = (node: ts.Node): void => {
    let specifier: string | undefined;
    let typeOnly = false;
    if (ts.isImportDeclaration(node)) {
      specifier = literal(node.moduleSpecifier);
      // `import { type A }` still loads the module (an empty import remains): only `import type` does not.
      typeOnly = node.importClause?.isTypeOnly ?? false;
    } else if (ts.isExportDeclaration(node)) {
      specifier = literal(node.moduleSpecifier);
      typeOnly = node.isTypeOnly;
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      specifier = literal(node.moduleReference.expression);
      typeOnly = node.isTypeOnly;
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      specifier = literal(node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      specifier = literal(node.argument.literal);
      typeOnly = true;
    }
    if (specifier !== undefined) found.push({ specifier, typeOnly });
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The repository path (`src/…`, `workers/…`) a relative specifier names, as its .ts source. */
function resolve(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined; // an npm package or node:*
  return posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, '.ts');
}

const inside = (path: string, dir: string): boolean => path.startsWith(`${dir}/`);

/** `file → import` for each import that crosses the boundary, in the order found. */
function violations(sources: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [file, text] of sources) {
    for (const { specifier, typeOnly } of importsOf(file, text)) {
      const target = resolve(file, specifier);
      if (target === undefined) continue;
      let allowed = true;
      if (inside(file, 'workers')) allowed = inside(target, 'workers') || inside(target, 'src/common');
      else if (inside(file, 'src/common')) allowed = inside(target, 'src/common') || (typeOnly && target === CONFIG_TYPES);
      else if (inside(file, 'src')) allowed = !inside(target, 'workers');
      if (!allowed) out.push(`${file} → ${specifier}${typeOnly ? ' (type)' : ''}`);
    }
  }
  return out;
}

function sourcesUnder(dir: string, into = new Map<string, string>()): Map<string, string> {
  for (const entry of readdirSync(posix.join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) sourcesUnder(path, into);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) into.set(path, readFileSync(posix.join(ROOT, path), 'utf8'));
  }
  return into;
}

describe('thread boundary', () => {
  it('flags every kind of import that crosses it, and nothing else', () => {
    const sources = new Map([
      [
        'workers/a.ts',
        [
          "import { x } from '../src/config/schema.js';",
          "import type { Y } from '../src/dispatch/batch.js';",
          "export { z } from '../src/kafka/consumer.js';",
          "const m = await import('../src/pipeline/start.js');",
          "type T = typeof import('../src/observe/metrics.js');",
          "import { ok } from './bulk/sink.js';",
          "import { shared } from '../src/common/protocol.js';",
          "import { isUtf8 } from 'node:buffer';",
          "import pino from 'pino';",
          "// import { c } from '../src/cli.js';",
          "const s = \"import('../src/cli.js')\";",
        ].join('\n'),
      ],
      [
        'src/common/b.ts',
        [
          "import type { SluiceConfig } from '../config/schema.js';",
          "import { type SluiceConfig as C } from '../config/schema.js';",
          "import type { Z } from '../config/validate.js';",
          "import { p } from './protocol.js';",
          "import { Client } from '@elastic/elasticsearch';",
        ].join('\n'),
      ],
      [
        'src/pipeline/c.ts',
        [
          "import { r } from '../../workers/processor.js';",
          "export * from '../../workers/bulk/sink.js';",
          "import { p } from '../common/protocol.js';",
          "import { d } from '../dispatch/dispatcher.js';",
          "const url = new URL('../../workers/worker.js', import.meta.url);",
        ].join('\n'),
      ],
    ]);
    expect(violations(sources)).to.deep.equal([
      'workers/a.ts → ../src/config/schema.js',
      'workers/a.ts → ../src/dispatch/batch.js (type)',
      'workers/a.ts → ../src/kafka/consumer.js',
      'workers/a.ts → ../src/pipeline/start.js',
      'workers/a.ts → ../src/observe/metrics.js (type)',
      'src/common/b.ts → ../config/schema.js',
      'src/common/b.ts → ../config/validate.js (type)',
      'src/pipeline/c.ts → ../../workers/processor.js',
      'src/pipeline/c.ts → ../../workers/bulk/sink.js',
    ]);
  });

  it('holds in src/ and workers/', () => {
    const sources = sourcesUnder('workers', sourcesUnder('src'));
    expect(sources.size).to.be.greaterThan(20);
    expect(violations(sources), 'file → import that crosses the thread boundary').to.deep.equal([]);
  });

  it('keeps the Elasticsearch client out of the main thread of a run: the workers load it, and ask the start-up GET /', () => {
    // Every module the CLI loads before it runs a command, as the process's module cache lists them.
    const cli = posix.join(ROOT, 'dist/src/cli.js');
    const script = `process.argv = [process.argv[0], ${JSON.stringify(cli)}, '--version'];
      await import(${JSON.stringify(cli)});
      const { createRequire } = await import('node:module');
      console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim().split('\n');
    const loaded = JSON.parse(out.at(-1) as string) as string[];
    expect(loaded.some((m) => m.includes('/node_modules/node-rdkafka/')), 'the cache lists the CLI’s packages').to.equal(true);
    expect(loaded.filter((m) => /\/node_modules\/(@elastic|apache-arrow|undici)\//.test(m))).to.deep.equal([]);
  });
});
