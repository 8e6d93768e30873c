import { Composer, Lexer, LineCounter, Parser, type CST, type Document } from 'yaml';
import { boundedValue, YAML_OPTIONS } from './document.ts';
import { checkExpandedSize, checkYamlSource, limitError, YamlError, type YamlLimits } from './limits.ts';

export interface YamlValue {
  value: unknown;
  /** 1-based line the document starts on (the line after its `---`), when it can be told. */
  line: number | null;
}

/**
 * Every document of a multi-document YAML file, within `limits`; throws YamlError (syntax or a
 * limit) and nothing else. The byte size is checked before parsing; the document count and the
 * nesting depth while parsing, on the tokens and the syntax tree, before any value is built (the
 * `yaml` package builds values recursively, and a file of 50,000 `[` exhausts the stack — or, at
 * worst, the heap — inside it); the aliases of each document and the expanded size of the file
 * after.
 */
export function loadYamlDocuments(text: string, limits: YamlLimits): YamlValue[] {
  checkYamlSource(text, limits);
  const lineCounter = new LineCounter();
  lineCounter.addNewLine(0); // what Parser.parse does first; this drives the parser lexeme by lexeme
  const parser = new Parser(lineCounter.addNewLine);
  const composer = new Composer(YAML_OPTIONS);
  const docs: { doc: Document.Parsed; line: number }[] = [];
  const starts: number[] = [];
  const at = (offset: number) => lineCounter.linePos(offset);

  const take = (token: CST.Token) => {
    if (token.type === 'document') {
      if (starts.length >= limits.maxDocuments)
        throw limitError('maxDocuments', limits.maxDocuments, 'the file has too many YAML documents');
      const over = tooDeep(token, limits.maxDepth);
      if (over !== undefined) {
        const { line, col } = at(over);
        throw limitError('maxDepth', limits.maxDepth, 'mappings and lists nest too deeply', line, col);
      }
      const marker = token.start.find((t) => t.type === 'doc-start');
      starts.push(marker ? at(marker.offset).line + 1 : at(token.offset).line);
    }
    for (const doc of composer.next(token)) docs.push({ doc, line: starts[docs.length]! });
  };

  try {
    let flowDepth = 0;
    for (const lexeme of new Lexer().lex(text)) {
      // Flow nesting stops the read at once, before the parser stacks up a token per `[`.
      if (lexeme === '[' || lexeme === '{') {
        if (++flowDepth > limits.maxDepth) {
          const { line, col } = at(parser.offset);
          throw limitError('maxDepth', limits.maxDepth, 'mappings and lists nest too deeply', line, col);
        }
      } else if (lexeme === ']' || lexeme === '}') {
        flowDepth = Math.max(0, flowDepth - 1);
      }
      for (const token of parser.next(lexeme)) take(token);
    }
    for (const token of parser.end()) take(token);
    for (const doc of composer.end()) docs.push({ doc, line: starts[docs.length]! });
  } catch (err) {
    if (err instanceof YamlError) throw err;
    // Nothing the parser throws may take the caller down.
    throw new YamlError(err instanceof RangeError ? 'too large or too deeply nested to parse' : 'unexpected input');
  }

  for (const { doc } of docs) {
    const error = doc.errors[0];
    if (error) {
      const { line, col } = at(error.pos[0]);
      throw new YamlError(syntaxReason(error.message), line, col);
    }
  }
  const values = docs.map(({ doc }) => boundedValue(doc, limits, lineCounter));
  checkExpandedSize(values, limits);
  return values.map((value, i) => ({ value, line: docs[i]!.line ?? null }));
}

/** The parser's message alone: never the snippet of the file it may quote (a secret, perhaps). */
function syntaxReason(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * The offset of the first mapping or list nested deeper than `maxDepth` (counted as
 * checkExpandedSize counts: the outermost collection is at depth 0), if any. Iterative, so the
 * walk itself cannot overflow the stack.
 */
function tooDeep(doc: CST.Document, maxDepth: number): number | undefined {
  const stack: [CST.Token | undefined, number][] = [[doc.value, 0]];
  while (stack.length) {
    const [token, depth] = stack.pop()!;
    if (!token) continue;
    switch (token.type) {
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        if (depth >= maxDepth) return token.offset;
        for (const item of token.items) {
          if ('key' in item) stack.push([item.key ?? undefined, depth + 1]);
          stack.push([item.value, depth + 1]);
        }
        break;
      default:
        break;
    }
  }
  return undefined;
}
