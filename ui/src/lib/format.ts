// Numbers and times as the screens show them.

/** Bytes as B / KB / MB / GB (powers of 1024, one decimal from KB on). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** A 0..1 ratio as a percentage with one decimal, e.g. 0.8123 → "81.2%". */
export function formatRate(r: number | null): string | null {
  return r === null ? null : `${(r * 100).toFixed(1)}%`;
}

/** China's offset from UTC (no daylight saving), in milliseconds. */
const CHINA_OFFSET_MS = 8 * 3600 * 1000;

/**
 * Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` in China time, whatever the device's
 * time zone: the time photos print, the office's pages show and deadlines count in.
 */
export function formatTime(ms: number): string {
  const d = new Date(ms + CHINA_OFFSET_MS);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** Milliseconds since the epoch as `HH:MM` in China time (a time of day, e.g. a check-in today). */
export function formatClock(ms: number): string {
  return formatTime(ms).slice(11, 16);
}

/** When something happened: `HH:MM` if on the day of `now`, else `YYYY-MM-DD HH:MM`. */
export function formatWhen(ms: number, now: number = Date.now()): string {
  const full = formatTime(ms);
  return full.slice(0, 10) === formatTime(now).slice(0, 10) ? full.slice(11, 16) : full.slice(0, 16);
}
