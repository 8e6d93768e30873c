import { describe, expect, it } from 'vitest';
import { globToRegExp, matchesAny } from './glob.ts';

describe('action globs', () => {
  const m = (glob: string, path: string) => matchesAny(path, [globToRegExp(glob)]);

  it('** spans folders, * and ? stay within a name, {a,b} picks', () => {
    expect(m('src/**', 'src/a/b.js')).toBe(true);
    expect(m('**/*.png', 'a/b/c.png')).toBe(true);
    expect(m('**/*.png', 'c.png')).toBe(true);
    expect(m('*.png', 'a/c.png')).toBe(false);
    expect(m('file?.txt', 'file1.txt')).toBe(true);
    expect(m('file?.txt', 'file10.txt')).toBe(false);
    expect(m('*.{png,jpg}', 'x.jpg')).toBe(true);
    expect(m('*.{png,jpg}', 'x.gif')).toBe(false);
  });

  it('a folder matched holds what is below it; regex characters are literal', () => {
    expect(m('static', 'static/x/y.html')).toBe(true);
    expect(m('./static', 'static/y.html')).toBe(true);
    expect(m('a+b(c).txt', 'a+b(c).txt')).toBe(true);
    expect(m('a.txt', 'abtxt')).toBe(false);
    expect(matchesAny('x', [])).toBe(false);
  });
});
