import { describe, expect, it } from 'vitest';
import { formatBucket, formatBytes, formatChange, formatDuration, formatTime, formatValue } from './format';

describe('formatValue', () => {
  it('formats currency with two decimals and separators', () => {
    expect(formatValue(1234.5, 'currency')).toBe('$1,234.50');
    expect(formatValue('99', 'currency')).toBe('$99.00');
  });
  it('formats percent from a ratio', () => {
    expect(formatValue(0.125, 'percent')).toBe('12.5%');
    expect(formatValue(1, 'percent')).toBe('100%');
  });
  it('formats plain numbers and missing values', () => {
    expect(formatValue(1234567.891)).toBe('1,234,567.89');
    expect(formatValue(null)).toBe('–');
    expect(formatValue('ios')).toBe('ios');
  });
});

describe('other formatters', () => {
  it('bytes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MB');
  });
  it('durations', () => {
    expect(formatDuration(0.25)).toBe('250 ms');
    expect(formatDuration(12.34)).toBe('12 s');
    expect(formatDuration(245)).toBe('4 min 5 s');
    expect(formatDuration(7380)).toBe('2 h 3 min');
  });
  it('change', () => {
    expect(formatChange(110, 100)).toBe('+10.0%');
    expect(formatChange(97, 100)).toBe('\u22123.0%');
    expect(formatChange(5, 0)).toBe('–');
  });
  it('times and buckets keep the given offset', () => {
    expect(formatTime('2026-11-23T02:00:00+08:00')).toBe('2026-11-23 02:00');
    expect(formatBucket('2026-11-23T00:00:00Z', 'month')).toBe('2026-11');
    expect(formatBucket('2026-05-01T00:00:00Z', 'quarter')).toBe('2026 Q2');
    expect(formatBucket('2026-11-23T14:00:00Z', 'hour')).toBe('11-23 14:00');
  });
});
