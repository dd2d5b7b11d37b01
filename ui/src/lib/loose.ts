// Reading JSON whose exact shape another part of the server owns: small, total accessors that
// never throw, so a page shows what is there instead of crashing on what is not.

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// The array at `key` (or `v` itself when it is one); [] otherwise.
export function arr(v: unknown, ...keys: string[]): Obj[] {
  if (Array.isArray(v)) return v.filter(isObj);
  if (!isObj(v)) return [];
  for (const k of keys) {
    const x = v[k];
    if (Array.isArray(x)) return x.filter(isObj);
  }
  return [];
}

export function str(v: unknown, ...keys: string[]): string {
  if (keys.length === 0) return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (!isObj(v)) return '';
  for (const k of keys) if (v[k] !== undefined && v[k] !== null) return str(v[k]);
  return '';
}

export function num(v: unknown, ...keys: string[]): number | null {
  const s = keys.length ? (isObj(v) ? keys.map((k) => v[k]).find((x) => x !== undefined && x !== null) : undefined) : v;
  const n = typeof s === 'number' ? s : typeof s === 'string' && s !== '' ? Number(s) : NaN;
  return Number.isFinite(n) ? n : null;
}

// Rows of a SQL result as objects keyed by column name.
export function sqlObjects(r: { columns: { name: string }[]; rows: unknown[][] }): Obj[] {
  return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i]])));
}

// A time member as ISO 8601: "<key>_us" (µs since the epoch) or "<key>" (already text).
export function timeOf(v: unknown, key: string): string {
  const us = num(v, `${key}_us`);
  if (us !== null) return new Date(us / 1000).toISOString();
  return str(v, key);
}
