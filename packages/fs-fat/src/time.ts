/**
 * DOS date and time (fatgen103 §6.3). FAT stores local wall-clock time without a zone; guestkit
 * reads and writes it as UTC (what mtools does with TZ=UTC), so a timestamp written and read
 * back round-trips exactly and does not depend on the host's time zone.
 *
 * Date: bits 15-9 years since 1980, 8-5 month 1-12, 4-0 day 1-31.
 * Time: bits 15-11 hours, 10-5 minutes, 4-0 seconds / 2.
 * Creation time adds DIR_CrtTimeTenth: 0..199 units of 10 ms.
 */
export interface DosDateTime {
  date: number;
  time: number;
  /** 10 ms units 0..199 (for DIR_CrtTimeTenth). */
  tenth: number;
}

/** Earliest and latest representable instants. */
const MIN_MS = Date.UTC(1980, 0, 1, 0, 0, 0);
const MAX_MS = Date.UTC(2107, 11, 31, 23, 59, 59, 990);

/** Date (as UTC) -> DOS fields; instants outside 1980..2107 are clamped. */
export function toDos(d: Date): DosDateTime {
  let ms = d.getTime();
  if (!Number.isFinite(ms) || ms < MIN_MS) ms = MIN_MS;
  if (ms > MAX_MS) ms = MAX_MS;
  const t = new Date(ms);
  const sec = t.getUTCSeconds();
  const date = ((t.getUTCFullYear() - 1980) << 9) | ((t.getUTCMonth() + 1) << 5) | t.getUTCDate();
  const time = (t.getUTCHours() << 11) | (t.getUTCMinutes() << 5) | (sec >> 1);
  const tenth = (sec & 1) * 100 + Math.floor(t.getUTCMilliseconds() / 10);
  return { date, time, tenth };
}

/**
 * DOS fields -> Date (UTC). A zero date (never set, e.g. an unused access date) reads as
 * 1980-01-01T00:00:00Z; out-of-range fields are clamped into range rather than rejected,
 * so a damaged timestamp never makes an entry unreadable.
 */
export function fromDos(date: number, time = 0, tenth = 0): Date {
  if (date === 0) return new Date(MIN_MS);
  const year = 1980 + (date >> 9);
  const month = Math.min(12, Math.max(1, (date >> 5) & 0xf));
  const day = Math.min(daysIn(year, month), Math.max(1, date & 0x1f));
  const hours = Math.min(23, time >> 11);
  const minutes = Math.min(59, (time >> 5) & 0x3f);
  const seconds = Math.min(58, (time & 0x1f) * 2);
  const extraMs = Math.min(199, tenth) * 10;
  return new Date(Date.UTC(year, month - 1, day, hours, minutes, seconds) + extraMs);
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
