// Number, byte, duration and time formatting, per a metric's declared format.

export type MetricFormat = 'number' | 'currency' | 'percent' | string;

const kNumber = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const kCurrency = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const kPercent = new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 });
const kCompact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

// A value of a metric as a person reads it: currency "$1,234.50", percent "12.5%" (the value is
// a ratio: 0.125), numbers with thousands separators. null/undefined/NaN show as "–".
export function formatValue(v: unknown, format: MetricFormat = 'number'): string {
  if (v === null || v === undefined || v === '') return '–';
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (!Number.isFinite(n)) return String(v);
  if (format === 'currency') return kCurrency.format(n);
  if (format === 'percent') return kPercent.format(n);
  return kNumber.format(n);
}

export function formatCompact(n: number): string {
  return Number.isFinite(n) ? kCompact.format(n) : '–';
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

// Seconds as "850 ms", "12.3 s", "4 min 5 s", "2 h 3 min".
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '–';
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  const h = Math.floor(m / 60);
  return `${h} h ${m % 60} min`;
}

// Relative change "+12.5%" / "−3.0%"; "–" when there is no base.
export function formatChange(current: number, previous: number): string {
  if (!Number.isFinite(current) || !Number.isFinite(previous) || previous === 0) return '–';
  const c = (current - previous) / Math.abs(previous);
  const s = (Math.abs(c) * 100).toFixed(1);
  return c >= 0 ? `+${s}%` : `\u2212${s}%`;
}

// An ISO 8601 time as "2026-11-23 02:00" (the string's own offset is kept: no shifting).
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '–';
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2})?/.exec(iso);
  return m ? `${m[1]} ${m[2]}` : iso;
}

// A time bucket label for a grain: day → "2026-11-23", month → "2026-11", hour → "11-23 02:00".
export function formatBucket(iso: string, grain: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?/.exec(iso);
  if (!m) return iso;
  const [, y, mo, d, h = '00', mi = '00'] = m;
  switch (grain) {
    case 'year':
      return `${y}`;
    case 'quarter':
      return `${y} Q${Math.floor((Number(mo) - 1) / 3) + 1}`;
    case 'month':
      return `${y}-${mo}`;
    case 'week':
    case 'day':
      return `${y}-${mo}-${d}`;
    case 'hour':
    case 'minute':
      return `${mo}-${d} ${h}:${mi}`;
    default:
      return iso;
  }
}
