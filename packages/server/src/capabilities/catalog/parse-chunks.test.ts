import { describe, expect, it } from 'vitest';
import { CATALOG_YAML_LIMITS, loadYamlDocuments, YamlError } from '@idp/core';
import { loadDocumentsSliced } from './parse-chunks.ts';

const doc = (i: number) =>
  `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c-${i}\n  description: |\n    line one\n    line two\nspec: {type: service, owner: team-${i % 7}}\n`;

describe('catalog files parsed in slices', () => {
  it('gives the same documents and lines as one parse, for a file of many slices', async () => {
    const text = Array.from({ length: 3000 }, (_, i) => doc(i)).join('---\n');
    expect(text.length).toBeGreaterThan(3 * 128 * 1024);
    expect(await loadDocumentsSliced(text, CATALOG_YAML_LIMITS)).toEqual(loadYamlDocuments(text, CATALOG_YAML_LIMITS));
  });

  it('reports a syntax error at its line in the whole file', async () => {
    const docs = Array.from({ length: 3000 }, (_, i) => doc(i));
    docs[2500] = 'kind: [oops\n';
    const text = docs.join('---\n');
    const line = text.slice(0, text.indexOf('kind: [oops')).split('\n').length;
    const err = await loadDocumentsSliced(text, CATALOG_YAML_LIMITS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(YamlError);
    expect((err as YamlError).line).toBeGreaterThanOrEqual(line);
    expect((err as YamlError).line).toBeLessThanOrEqual(line + 1);
  });

  it('keeps the whole file within the expanded-size limit, slice by slice', async () => {
    const text = Array.from({ length: 3000 }, (_, i) => doc(i)).join('---\n');
    const limits = { ...CATALOG_YAML_LIMITS, maxNodes: 20_000 };
    await expect(loadDocumentsSliced(text, limits)).rejects.toThrow(/expanded size limit/);
  });
});
