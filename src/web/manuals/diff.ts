/** A line diff (longest common subsequence) between two versions of a manual's text. */

export interface DiffLine {
  /** same: in both; del: only in the older; add: only in the newer. */
  readonly op: 'same' | 'del' | 'add';
  readonly text: string;
  /** Line number in the older (del, same) and newer (add, same) text. */
  readonly oldNo: number | null;
  readonly newNo: number | null;
}

/** Lines beyond this are compared as one block each side (manual bodies stay far below it). */
const maxLines = 4000;

export function diffLines(older: string, newer: string): DiffLine[] {
  const a = older.split(/\r?\n/);
  const b = newer.split(/\r?\n/);
  if (a.length > maxLines || b.length > maxLines) {
    return [...a.map((text, i) => ({ op: 'del' as const, text, oldNo: i + 1, newNo: null })), ...b.map((text, i) => ({ op: 'add' as const, text, oldNo: null, newNo: i + 1 }))];
  }
  // Common head and tail first: an edit usually touches a few lines in the middle.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  const n = am.length;
  const m = bm.length;
  // lcs[i][j]: LCS length of am[i..] and bm[j..].
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = am[i] === bm[j] ? lcs[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  for (let i = 0; i < head; i++) out.push({ op: 'same', text: a[i]!, oldNo: i + 1, newNo: i + 1 });
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && am[i] === bm[j]) {
      out.push({ op: 'same', text: am[i]!, oldNo: head + i + 1, newNo: head + j + 1 });
      i++;
      j++;
    } else if (i < n && (j === m || lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!)) {
      out.push({ op: 'del', text: am[i]!, oldNo: head + i + 1, newNo: null });
      i++;
    } else {
      out.push({ op: 'add', text: bm[j]!, oldNo: null, newNo: head + j + 1 });
      j++;
    }
  }
  for (let k = 0; k < tail; k++) out.push({ op: 'same', text: a[a.length - tail + k]!, oldNo: a.length - tail + k + 1, newNo: b.length - tail + k + 1 });
  return out;
}
