/**
 * Python `datetime.datetime` semantics for the PostTroll codec: microsecond precision, naive or
 * aware with a fixed UTC offset (offsets may carry seconds and microseconds, as Python allows),
 * `isoformat()` exactly as Python prints it and `fromisoformat()` accepting exactly what
 * CPython 3.11+ `datetime.fromisoformat` accepts (checked against the reference interpreter in
 * `tests/codec/pytime_test.ts`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PyDateTime } from "./pytime.ts";
 * const t = PyDateTime.fromisoformat("20200101T120000Z");
 * assertEquals(t.isoformat(), "2020-01-01T12:00:00+00:00");
 * ```
 *
 * @module
 */

const US_PER_SECOND = 1_000_000;
const US_PER_DAY = 86_400 * US_PER_SECOND;
/** Python `datetime.MINYEAR`. */
export const MINYEAR = 1;
/** Python `datetime.MAXYEAR`. */
export const MAXYEAR = 9999;

/** Fields of a {@linkcode PyDateTime}; omitted time fields are 0, an omitted offset means naive. */
export interface PyDateTimeFields {
  /** 1..9999 */
  year: number;
  /** 1..12 */
  month: number;
  /** 1..days in month */
  day: number;
  /** 0..23 @default 0 */
  hour?: number;
  /** 0..59 @default 0 */
  minute?: number;
  /** 0..59 @default 0 */
  second?: number;
  /** 0..999999 @default 0 */
  microsecond?: number;
  /**
   * UTC offset in microseconds (strictly between -24 h and +24 h), or `null`/absent for a naive
   * datetime. `0` is UTC.
   * @default null
   */
  offsetMicroseconds?: number | null;
}

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(y: number, m: number): number {
  return m === 2 && isLeap(y) ? 29 : DAYS_IN_MONTH[m];
}

/** Days since 1970-01-01 of a proleptic Gregorian date (any integer year). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** `performance.timeOrigin` (constant; its getter allocates). */
const TIME_ORIGIN = performance.timeOrigin;

// civilFromDays's result (no array per call: the publisher converts a time per message) and the
// day number it is for (consecutive calls mostly ask for the same day: now() per message)
let civY = 0, civM = 0, civD = 0, civDays = NaN;

/** Year, month, day (into civY, civM, civD) of a day number since 1970-01-01. */
function civilFromDays(z: number): void {
  if (z === civDays) return;
  civDays = z;
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) -
      Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  civY = era * 400 + yoe + (m <= 2 ? 1 : 0);
  civM = m;
  civD = d;
}

const TWO_DIGITS: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? "0" : "") + i);

/** Character codes of the two decimal digits of 0..99: tens, ones (no division per digit). */
const TENS = Uint8Array.from({ length: 100 }, (_, i) => 48 + ((i / 10) | 0));
const ONES = Uint8Array.from({ length: 100 }, (_, i) => 48 + (i % 10));

function pad2(n: number): string {
  return n < 100 ? TWO_DIGITS[n] : "" + n;
}

function pad(n: number, width: number): string {
  let s = "" + n;
  while (s.length < width) s = "0" + s;
  return s;
}

function formatOffset(off: number): string {
  if (off === 0) return "+00:00"; // UTC, what now() gives
  let sign = "+";
  if (off < 0) {
    sign = "-";
    off = -off;
  }
  const us = off % US_PER_SECOND;
  let secs = (off - us) / US_PER_SECOND;
  const h = Math.floor(secs / 3600);
  secs -= h * 3600;
  const m = Math.floor(secs / 60);
  const s = secs - m * 60;
  let out = sign + pad2(h) + ":" + pad2(m);
  if (s || us) {
    out += ":" + pad2(s);
    if (us) out += "." + pad(us, 6);
  }
  return out;
}

// Fields validated by the caller, handed to the constructor through `checked` (no fields object,
// no second validation on the parsers' hot path).
const CHECKED: PyDateTimeFields = { year: 0, month: 0, day: 0 };
let cY = 0, cMo = 0, cD = 0, cH = 0, cMi = 0, cS = 0, cUs = 0;
let cOff: number | null = null;

/**
 * Hands fields to the constructor that are integers in range: year 1..9999, month 1..12, day in
 * the month, hour 0..23, minute and second 0..59, microsecond 0..999999, offset strictly within
 * ±24 h or null (what the constructor checks). Returns the token to pass it:
 * `new PyDateTime(checked(...))`.
 */
function checked(
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
  sec: number,
  us: number,
  off: number | null,
): PyDateTimeFields {
  cY = y;
  cMo = mo;
  cD = d;
  cH = h;
  cMi = mi;
  cS = sec;
  cUs = us;
  cOff = off;
  return CHECKED;
}

/**
 * A Python `datetime.datetime`: date, time to the microsecond and an optional fixed UTC offset.
 * Instances are immutable.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { PyDateTime } from "./pytime.ts";
 * const t = new PyDateTime({ year: 2008, month: 4, day: 11, hour: 22, minute: 13, second: 22,
 *   microsecond: 123000 });
 * assertEquals(t.isoformat(), "2008-04-11T22:13:22.123000");
 * assertEquals(t.naive, true);
 * ```
 */
export class PyDateTime {
  /** Year, 1..9999. */
  readonly year: number;
  /** Month, 1..12. */
  readonly month: number;
  /** Day of month. */
  readonly day: number;
  /** Hour, 0..23. */
  readonly hour: number;
  /** Minute, 0..59. */
  readonly minute: number;
  /** Second, 0..59. */
  readonly second: number;
  /** Microsecond, 0..999999. */
  readonly microsecond: number;
  /** UTC offset in microseconds, `null` when naive. */
  readonly offsetMicroseconds: number | null;

  /**
   * Validates like Python's `datetime(...)` constructor.
   * @throws {RangeError} when a field is out of range
   */
  constructor(fields: PyDateTimeFields) {
    // fields already validated by this module's parsers come through `checked` (no fields object,
    // no second validation on their hot path)
    if (fields !== CHECKED) {
      const {
        year,
        month,
        day,
        hour = 0,
        minute = 0,
        second = 0,
        microsecond = 0,
        offsetMicroseconds = null,
      } = fields;
      if (!Number.isInteger(year) || year < MINYEAR || year > MAXYEAR) {
        throw new RangeError(`year ${year} is out of range`);
      }
      if (!Number.isInteger(month) || month < 1 || month > 12) {
        throw new RangeError("month must be in 1..12");
      }
      if (!Number.isInteger(day) || day < 1 || day > daysInMonth(year, month)) {
        throw new RangeError("day is out of range for month");
      }
      if (!Number.isInteger(hour) || hour < 0 || hour > 23) {
        throw new RangeError("hour must be in 0..23");
      }
      if (!Number.isInteger(minute) || minute < 0 || minute > 59) {
        throw new RangeError("minute must be in 0..59");
      }
      if (!Number.isInteger(second) || second < 0 || second > 59) {
        throw new RangeError("second must be in 0..59");
      }
      if (!Number.isInteger(microsecond) || microsecond < 0 || microsecond > 999999) {
        throw new RangeError("microsecond must be in 0..999999");
      }
      if (
        offsetMicroseconds !== null &&
        (!Number.isInteger(offsetMicroseconds) || offsetMicroseconds <= -US_PER_DAY ||
          offsetMicroseconds >= US_PER_DAY)
      ) {
        throw new RangeError(
          "offset must be a timedelta strictly between -timedelta(hours=24) and timedelta(hours=24)",
        );
      }
      checked(year, month, day, hour, minute, second, microsecond, offsetMicroseconds);
    }
    this.year = cY;
    this.month = cMo;
    this.day = cD;
    this.hour = cH;
    this.minute = cMi;
    this.second = cS;
    this.microsecond = cUs;
    this.offsetMicroseconds = cOff === 0 ? 0 : cOff;
  }

  /**
   * Current time, aware, in UTC (Python `datetime.now(timezone.utc)`), microsecond resolution
   * where the platform clock provides it.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PyDateTime } from "./pytime.ts";
   * assertEquals(PyDateTime.now().offsetMicroseconds, 0);
   * ```
   */
  static now(): PyDateTime {
    const ms = TIME_ORIGIN + performance.now();
    return PyDateTime.fromEpochMicroseconds(Math.round(ms * 1000), 0);
  }

  /**
   * A datetime from microseconds since 1970-01-01T00:00:00 UTC, shown at the given offset
   * (`null` for a naive datetime holding the UTC wall time).
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PyDateTime } from "./pytime.ts";
   * assertEquals(PyDateTime.fromEpochMicroseconds(1).isoformat(), "1970-01-01T00:00:00.000001+00:00");
   * ```
   */
  static fromEpochMicroseconds(us: number, offsetMicroseconds: number | null = 0): PyDateTime {
    const local = us + (offsetMicroseconds ?? 0);
    const days = Math.floor(local / US_PER_DAY);
    let rest = local - days * US_PER_DAY;
    civilFromDays(days);
    const year = civY, month = civM, day = civD;
    const hour = Math.floor(rest / 3_600_000_000);
    rest -= hour * 3_600_000_000;
    const minute = Math.floor(rest / 60_000_000);
    rest -= minute * 60_000_000;
    const second = Math.floor(rest / US_PER_SECOND);
    const microsecond = rest - second * US_PER_SECOND;
    if (
      year >= MINYEAR && year <= MAXYEAR && Number.isInteger(microsecond) &&
      (offsetMicroseconds === null ||
        (Number.isInteger(offsetMicroseconds) && offsetMicroseconds > -US_PER_DAY &&
          offsetMicroseconds < US_PER_DAY))
    ) {
      return new PyDateTime(
        checked(year, month, day, hour, minute, second, microsecond, offsetMicroseconds),
      );
    }
    return new PyDateTime({
      year,
      month,
      day,
      hour,
      minute,
      second,
      microsecond,
      offsetMicroseconds,
    });
  }

  /**
   * An aware UTC datetime from a JS `Date` (millisecond precision).
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PyDateTime } from "./pytime.ts";
   * assertEquals(PyDateTime.fromDate(new Date(0)).isoformat(), "1970-01-01T00:00:00+00:00");
   * ```
   */
  static fromDate(date: Date): PyDateTime {
    const t = date.getTime();
    if (!Number.isFinite(t)) throw new RangeError("invalid Date");
    return PyDateTime.fromEpochMicroseconds(t * 1000, 0);
  }

  /**
   * Parses what Python 3.11+ `datetime.fromisoformat` accepts.
   * @throws {RangeError} `Invalid isoformat string: '...'` like Python's ValueError
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PyDateTime } from "./pytime.ts";
   * assertEquals(PyDateTime.fromisoformat("2020-W01-1").isoformat(), "2019-12-30T00:00:00");
   * ```
   */
  static fromisoformat(s: string): PyDateTime {
    const r = parseIsoformat(s);
    if (r === undefined) throw new RangeError(`Invalid isoformat string: ${pyStrRepr(s)}`);
    return r;
  }

  /**
   * Like {@linkcode PyDateTime.fromisoformat} but returns `undefined` instead of throwing.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PyDateTime } from "./pytime.ts";
   * assertEquals(PyDateTime.tryFromisoformat("12"), undefined);
   * ```
   */
  static tryFromisoformat(s: string): PyDateTime | undefined {
    return parseIsoformat(s);
  }

  /** `true` when the datetime has no UTC offset. */
  get naive(): boolean {
    return this.offsetMicroseconds === null;
  }

  /**
   * Python `isoformat(sep)`: `YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM[:SS[.ffffff]]]`.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PyDateTime } from "./pytime.ts";
   * const t = new PyDateTime({ year: 2020, month: 1, day: 2, offsetMicroseconds: 0 });
   * assertEquals(t.isoformat(), "2020-01-02T00:00:00+00:00");
   * ```
   */
  isoformat(sep = "T"): string {
    const s = this.#wall(sep);
    return this.offsetMicroseconds === null ? s : s + formatOffset(this.offsetMicroseconds);
  }

  /**
   * `withoutOffset().isoformat(sep)` without building the intermediate datetime: the wall time
   * only, `YYYY-MM-DDTHH:MM:SS[.ffffff]`.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PyDateTime } from "./pytime.ts";
   * const t = PyDateTime.fromisoformat("2020-01-01T00:00+01:00");
   * assertEquals(t.isoformatWithoutOffset(), "2020-01-01T00:00:00");
   * ```
   */
  isoformatWithoutOffset(sep = "T"): string {
    return this.#wall(sep);
  }

  #wall(sep: string): string {
    if (sep.length === 1) {
      // one flat string from its character codes (a string built by + is a tree of pieces that
      // the message's UTF-8 conversion has to flatten again)
      const y = this.year, mo = this.month, d = this.day, h = this.hour, mi = this.minute;
      const sec = this.second, us = this.microsecond;
      const yh = (y / 100) | 0, yl = y - yh * 100; // 0..99 each
      const ua = (us / 10000) | 0, ur = us - ua * 10000, ub = (ur / 100) | 0, uc = ur - ub * 100;
      // with the fraction always; without it when it is 0 (the first 19 characters)
      const full = String.fromCharCode(
        TENS[yh],
        ONES[yh],
        TENS[yl],
        ONES[yl],
        45,
        TENS[mo],
        ONES[mo],
        45,
        TENS[d],
        ONES[d],
        sep.charCodeAt(0),
        TENS[h],
        ONES[h],
        58,
        TENS[mi],
        ONES[mi],
        58,
        TENS[sec],
        ONES[sec],
        46,
        TENS[ua],
        ONES[ua],
        TENS[ub],
        ONES[ub],
        TENS[uc],
        ONES[uc],
      );
      return us ? full : full.slice(0, 19);
    }
    const y = this.year;
    const s = (y >= 1000 ? "" + y : pad(y, 4)) + "-" + TWO_DIGITS[this.month] + "-" +
      TWO_DIGITS[this.day] + sep + TWO_DIGITS[this.hour] + ":" + TWO_DIGITS[this.minute] + ":" +
      TWO_DIGITS[this.second];
    // microsecond < 10^6: the digits of 10^6 + us after its leading 1
    return this.microsecond ? s + "." + ("" + (1000000 + this.microsecond)).slice(1) : s;
  }

  /**
   * Python `replace(tzinfo=None)`: the same wall time without offset.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PyDateTime } from "./pytime.ts";
   * const t = PyDateTime.fromisoformat("2020-01-01T00:00+01:00");
   * assertEquals(t.withoutOffset().isoformat(), "2020-01-01T00:00:00");
   * ```
   */
  withoutOffset(): PyDateTime {
    if (this.offsetMicroseconds === null) return this;
    return new PyDateTime({ ...this, offsetMicroseconds: null });
  }

  /**
   * Microseconds since the epoch; a naive datetime is taken as UTC.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PyDateTime } from "./pytime.ts";
   * assertEquals(PyDateTime.fromisoformat("1970-01-01T01:00+01:00").epochMicroseconds(), 0);
   * ```
   */
  epochMicroseconds(): number {
    const days = daysFromCivil(this.year, this.month, this.day);
    return days * US_PER_DAY + this.hour * 3_600_000_000 + this.minute * 60_000_000 +
      this.second * US_PER_SECOND + this.microsecond - (this.offsetMicroseconds ?? 0);
  }

  /**
   * A JS `Date` (microseconds truncated); a naive datetime is taken as UTC.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PyDateTime } from "./pytime.ts";
   * assertEquals(PyDateTime.fromisoformat("2020-01-01").toDate().toISOString(), "2020-01-01T00:00:00.000Z");
   * ```
   */
  toDate(): Date {
    return new Date(Math.floor(this.epochMicroseconds() / 1000));
  }

  /**
   * Python `==`: aware datetimes compare by instant, naive ones by wall time, naive never equals
   * aware.
   *
   * @example
   * ```ts
   * import { assertEquals } from "@std/assert";
   * import { PyDateTime } from "./pytime.ts";
   * const a = PyDateTime.fromisoformat("2020-01-01T01:00+01:00");
   * assertEquals(a.equals(PyDateTime.fromisoformat("2020-01-01T00:00Z")), true);
   * ```
   */
  equals(other: unknown): boolean {
    if (!(other instanceof PyDateTime)) return false;
    if ((this.offsetMicroseconds === null) !== (other.offsetMicroseconds === null)) return false;
    return this.epochMicroseconds() === other.epochMicroseconds();
  }

  /** Same as {@linkcode PyDateTime.isoformat}; used by `JSON.stringify`. */
  toJSON(): string {
    return this.isoformat();
  }

  /** Python `str(datetime)`: isoformat with a space separator. */
  toString(): string {
    return this.isoformat(" ");
  }

  /** Shown as `PyDateTime(<isoformat>)` by `console.log` in Deno. */
  [Symbol.for("Deno.customInspect")](): string {
    return `PyDateTime(${this.isoformat()})`;
  }
}

/**
 * Python `repr()` of a str (enough for error messages: quotes and common escapes).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { pyStrRepr } from "./pytime.ts";
 * assertEquals(pyStrRepr("it's"), `"it's"`);
 * ```
 */
export function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else if (c >= 0xd800 && c <= 0xdfff) out += "\\u" + c.toString(16);
    else out += ch;
  }
  return out + quote;
}

// ---------------------------------------------------------------------------------------------
// fromisoformat: a port of the behaviour (not the code) of CPython's C parser. It works on the
// UTF-8 bytes of the string followed by a NUL terminator, because some of CPython's length checks
// count bytes and its end-of-field checks stop at a NUL (so "…00.123456\0junk" is accepted there).
// For ASCII input the string itself stands for its bytes.

// byte at i, 0 past the end (the C string's terminator)
function at(s: string, i: number): number {
  return i < s.length ? s.charCodeAt(i) : 0;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

// parses n digits at i; returns value or -1
function digits(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const c = at(s, i + k) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function findSeparator(s: string): number {
  const len = s.length;
  if (len === 7) return 7;
  if (at(s, 4) === 45 /* - */) {
    if (at(s, 5) === 87 /* W */) {
      if (len < 8) return -1;
      if (len > 8 && at(s, 8) === 45) {
        if (len === 9) return -1;
        if (len > 10 && isDigit(at(s, 10))) return 8;
        return 10;
      }
      return 8;
    }
    return 10;
  }
  if (at(s, 4) === 87) {
    let idx = 7;
    for (; idx < len; idx++) if (!isDigit(at(s, idx))) break;
    if (idx < 9) return idx;
    return idx % 2 === 0 ? 7 : 8;
  }
  return 8;
}

// date result holder (avoids allocating)
let rY = 0, rM = 0, rD = 0;

function isoWeekToYmd(year: number, week: number, day: number): boolean {
  if (year < MINYEAR || year > MAXYEAR) return false;
  if (week <= 0 || week >= 53) {
    let bad = true;
    if (week === 53) {
      // weekday of Jan 1 with Monday=0 ... Python ord%7: ordinal 1 (0001-01-01, Monday) -> 1
      const firstOrdinal = daysFromCivil(year, 1, 1) + 719163;
      const fw = firstOrdinal % 7;
      if (fw === 4 || (fw === 3 && isLeap(year))) bad = false;
    }
    if (bad) return false;
  }
  if (day <= 0 || day >= 8) return false;
  const firstDay = daysFromCivil(year, 1, 1) + 719163;
  const firstWeekday = (firstDay + 6) % 7;
  let week1Monday = firstDay - firstWeekday;
  if (firstWeekday > 3) week1Monday += 7;
  const ord = week1Monday + (week - 1) * 7 + day - 1;
  civilFromDays(ord - 719163);
  rY = civY;
  rM = civM;
  rD = civD;
  return true;
}

// returns 0 on success, <0 on failure; fills rY/rM/rD
function parseDate(s: string, len: number): number {
  const year = digits(s, 0, 4);
  if (year < 0) return -1;
  let p = 4;
  const sep = at(s, p) === 45;
  if (sep) p++;
  if (at(s, p) === 87) {
    p++;
    const week = digits(s, p, 2);
    if (week < 0) return -3;
    p += 2;
    let day = 1;
    if (p < len) {
      if (sep && at(s, p++) !== 45) return -2;
      day = digits(s, p, 1);
      if (day < 0) return -4;
    }
    return isoWeekToYmd(year, week, day) ? 0 : -5;
  }
  const month = digits(s, p, 2);
  if (month < 0) return -1;
  p += 2;
  if (sep && at(s, p++) !== 45) return -2;
  const day = digits(s, p, 2);
  if (day < 0) return -1;
  rY = year;
  rM = month;
  rD = day;
  return 0;
}

let tH = 0, tMi = 0, tS = 0, tUs = 0;
const FRACTION_SCALE = [0, 100000, 10000, 1000, 100, 10];

// parses HH[:?MM[:?SS[{.,}f+]]] from p to end (exclusive); 0 = consumed to end or NUL, 1 = more
// characters follow, <0 = error. Fills tH/tMi/tS/tUs.
function parseHhMmSsFf(s: string, p: number, end: number): number {
  tH =
    tMi =
    tS =
    tUs =
      0;
  let hasSep = true;
  let i = 0;
  for (; i < 3; i++) {
    const v = digits(s, p, 2);
    if (v < 0) return -3;
    if (i === 0) tH = v;
    else if (i === 1) tMi = v;
    else tS = v;
    p += 2;
    const c = at(s, p++);
    if (i === 0) hasSep = c === 58;
    if (p >= end) return c !== 0 ? 1 : 0;
    if (hasSep && c === 58) continue;
    if (c === 46 || c === 44) break;
    if (!hasSep) p--;
    else return -4;
  }
  const remains = end - p;
  const toParse = remains >= 6 ? 6 : remains;
  const us = digits(s, p, toParse);
  if (us < 0) return -3;
  p += toParse;
  tUs = toParse < 6 ? us * FRACTION_SCALE[toParse] : us;
  while (isDigit(at(s, p))) p++;
  return at(s, p) !== 0 ? 1 : 0;
}

// d2 of two ASCII digits at i, or -1
function d2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

// Fast path for what isoformat() writes: YYYY-MM-DDTHH:MM:SS[.ffffff][±HH:MM], the `len`
// characters of `s` from `o` (a message's header time is read in place: a slice of the message
// is a sliced string, whose characters cost more to read one by one). Returns null when the
// string has another shape (the general parser then decides).
function parseCanonical(s: string, o: number, len: number): PyDateTime | undefined | null {
  if (len !== 19 && len !== 26 && len !== 25 && len !== 32) return null;
  if (
    s.charCodeAt(o + 4) !== 45 || s.charCodeAt(o + 7) !== 45 || s.charCodeAt(o + 10) !== 84 ||
    s.charCodeAt(o + 13) !== 58 || s.charCodeAt(o + 16) !== 58
  ) return null;
  const y1 = d2(s, o), y2 = d2(s, o + 2), mo = d2(s, o + 5), d = d2(s, o + 8);
  const h = d2(s, o + 11), mi = d2(s, o + 14), sec = d2(s, o + 17);
  if ((y1 | y2 | mo | d | h | mi | sec) < 0) return null;
  let p = 19;
  let us = 0;
  if (len === 26 || len === 32) {
    if (s.charCodeAt(o + 19) !== 46) return null;
    const a = d2(s, o + 20), b = d2(s, o + 22), c = d2(s, o + 24);
    if ((a | b | c) < 0) return null;
    us = a * 10000 + b * 100 + c;
    p = 26;
  }
  let off: number | null = null;
  if (p < len) {
    if (len - p !== 6) return null;
    const sign = s.charCodeAt(o + p);
    if ((sign !== 43 && sign !== 45) || s.charCodeAt(o + p + 3) !== 58) return null;
    const oh = d2(s, o + p + 1), om = d2(s, o + p + 4);
    if ((oh | om) < 0) return null;
    off = (sign === 45 ? -1 : 1) * (oh * 3600 + om * 60) * US_PER_SECOND;
    if (off <= -US_PER_DAY || off >= US_PER_DAY) return undefined;
  }
  // the constructor's checks (the digits are integers from 0 to 99)
  const year = y1 * 100 + y2;
  if (
    year < MINYEAR || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(year, mo) || h > 23 ||
    mi > 59 || sec > 59
  ) return undefined;
  return new PyDateTime(checked(year, mo, d, h, mi, sec, us, off));
}

/**
 * {@linkcode PyDateTime.tryFromisoformat} of `s.slice(start, end)`, reading what `isoformat()`
 * writes in place (the posttroll codec passes the whole message and the bounds of its header
 * time: no slice of it is made unless the time has another shape).
 *
 * @param s the text holding the time
 * @param start index of its first character
 * @param end index after its last character
 * @returns the datetime, or undefined where `fromisoformat` raises
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { tryFromisoformatAt } from "./pytime.ts";
 * const text = "at 2020-01-02T03:04:05.000006+00:00 and 2020-W01-1";
 * assertEquals(tryFromisoformatAt(text, 3, 35)?.isoformat(), "2020-01-02T03:04:05.000006+00:00");
 * assertEquals(tryFromisoformatAt(text, 40, 50)?.isoformat(), "2019-12-30T00:00:00");
 * assertEquals(tryFromisoformatAt(text, 0, 2), undefined);
 * ```
 */
export function tryFromisoformatAt(s: string, start: number, end: number): PyDateTime | undefined {
  // Quick rejection: every accepted string starts with four ASCII digits (parseDate's year; a
  // character from U+0080 on has no digit among its UTF-8 bytes), so an address such as
  // "127.0.0.1:9079" is left a string without the general parser.
  if (
    end - start < 7 || !isDigit(s.charCodeAt(start)) || !isDigit(s.charCodeAt(start + 1)) ||
    !isDigit(s.charCodeAt(start + 2)) || !isDigit(s.charCodeAt(start + 3))
  ) return undefined;
  const fast = parseCanonical(s, start, end - start);
  return fast !== null ? fast : parseGeneral(s.slice(start, end));
}

function parseIsoformat(input: string): PyDateTime | undefined {
  return tryFromisoformatAt(input, 0, input.length);
}

// The general parser (CPython's `datetime.fromisoformat`), for what the quick rejection and the
// canonical fast path of tryFromisoformatAt leave.
function parseGeneral(input: string): PyDateTime | undefined {
  let s = input;
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (!ascii) {
    const b = toUtf8Latin1(s);
    if (b === undefined) return undefined;
    s = b;
  }
  const len = s.length;
  const sepAt = findSeparator(s);
  let rv = parseDate(s, sepAt < 0 ? Infinity : sepAt);
  let hour = 0, minute = 0, second = 0, us = 0;
  let off: number | null = null;
  if (rv === 0 && len > sepAt) {
    let p = sepAt;
    const c = at(s, p);
    if ((c & 0x80) === 0) p += 1;
    else if ((c & 0xf0) === 0xe0) p += 3;
    else if ((c & 0xf0) === 0xf0) p += 4;
    else p += 2;
    rv = parseTime(s, p, len);
    if (rv >= 0) {
      hour = tH;
      minute = tMi;
      second = tS;
      us = tUs;
      if (rv === 1) off = tzOff;
    }
  }
  if (rv < 0) return undefined;
  // the constructor's checks without its RangeError (a thrown error costs ~4 µs: a string of 8
  // digits that is no date, e.g. "12345678", took 4.4 µs instead of 0.1 to be left a string)
  if (
    rY < MINYEAR || rY > MAXYEAR || rM < 1 || rM > 12 || rD < 1 || rD > daysInMonth(rY, rM) ||
    hour > 23 || minute > 59 || second > 59 || us > 999999 ||
    (off !== null && (off <= -US_PER_DAY || off >= US_PER_DAY))
  ) return undefined;
  return new PyDateTime(checked(rY, rM, rD, hour, minute, second, us, off));
}

let tzOff = 0;

function parseTime(s: string, start: number, end: number): number {
  let tz = start;
  do {
    const c = at(s, tz);
    if (c === 90 || c === 43 || c === 45) break;
  } while (++tz < end);
  let rv = parseHhMmSsFf(s, start, tz);
  if (rv < 0) return rv;
  if (tz >= end) return rv === 1 ? -5 : 0;
  const h = tH, mi = tMi, sec = tS, us = tUs;
  if (at(s, tz) === 90) {
    tzOff = 0;
    return at(s, tz + 1) !== 0 ? -5 : 1;
  }
  const sign = at(s, tz) === 45 ? -1 : 1;
  rv = parseHhMmSsFf(s, tz + 1, end);
  // CPython takes an offset whose whole seconds are 0 as UTC, dropping its microseconds
  // (`-00:00:00.5` is written back as `+00:00`)
  const offSeconds = tH * 3600 + tMi * 60 + tS;
  tzOff = offSeconds === 0 ? 0 : sign * (offSeconds * US_PER_SECOND + tUs);
  tH = h;
  tMi = mi;
  tS = sec;
  tUs = us;
  return rv ? -5 : 1;
}

// UTF-8 bytes of s as a latin-1 string, after CPython's separator sanitising (a lone surrogate at
// code point 7, 8 or 10 becomes "T"); undefined when another lone surrogate makes it unencodable.
function toUtf8Latin1(s: string): string | undefined {
  const cps: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        cps.push(((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000);
        i++;
        continue;
      }
    }
    cps.push(c);
  }
  if (cps.length < 7) return undefined;
  for (const pos of [7, 8, 10]) {
    if (pos > cps.length) break;
    const c = pos < cps.length ? cps[pos] : 0;
    if (c >= 0xd800 && c <= 0xdfff) {
      cps[pos] = 84;
      break;
    }
  }
  let out = "";
  for (const c of cps) {
    if (c < 0x80) out += String.fromCharCode(c);
    else if (c < 0x800) out += String.fromCharCode(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c >= 0xd800 && c <= 0xdfff) return undefined;
    else if (c < 0x10000) {
      out += String.fromCharCode(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    } else {
      out += String.fromCharCode(
        0xf0 | (c >> 18),
        0x80 | ((c >> 12) & 63),
        0x80 | ((c >> 6) & 63),
        0x80 | (c & 63),
      );
    }
  }
  return out;
}
