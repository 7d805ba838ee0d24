import { describe, expect, it } from 'vitest';
import { csvCell, csvField, splitCsvLine } from './csv.js';

describe('splitCsvLine', () => {
  it.each([
    ['a,b,c', ['a', 'b', 'c']],
    ['saddr, sport, success', ['saddr', 'sport', 'success']],
    ['"a,b",c', ['a,b', 'c']],
    ['"say ""hi""",x', ['say "hi"', 'x']],
    [' "q" ,\t2', ['q', '2']],
    ['a,,', ['a', '', '']],
    ['', ['']],
  ])('%j', (line, fields) => {
    expect(splitCsvLine(line)).toEqual({ fields });
  });

  it.each([
    ['"open', /unterminated/],
    ['"a"x,b', /after a closing quote/],
    ['a"b,c', /stray quote/],
  ])('refuses %j with a hint', (line, problem) => {
    const r = splitCsvLine(line);
    expect('problem' in r && r.problem).toMatch(problem);
    expect('hint' in r && r.hint.length).toBeGreaterThan(0);
  });

  it('reads back what csvField writes', () => {
    const values = ['plain', 'with,comma', 'say "hi"', ' padded ', '#not-a-comment', ''];
    expect(splitCsvLine(values.map(csvField).join(','))).toEqual({ fields: values });
  });
});

describe('csvCell', () => {
  it('defuses spreadsheet formulas and line breaks, and reads back as text', () => {
    const values = ['=1+1', '+SUM(A1)', '-2', '@cmd', '\tx', 'plain', 'a,b', 'two\r\nlines'];
    const split = splitCsvLine(values.map(csvCell).join(','));
    expect(split).toEqual({ fields: ["'=1+1", "'+SUM(A1)", "'-2", "'@cmd", "' x", 'plain', 'a,b', 'two  lines'] });
    expect([csvCell(null), csvCell(3), csvCell(true)]).toEqual(['', '3', 'true']);
  });
});
