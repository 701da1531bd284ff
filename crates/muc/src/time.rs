//! Time as a plain value: the room never reads a clock, the caller passes `now` in.
//!
//! [`Timestamp`] is Unix time in milliseconds; it formats and parses the XEP-0082 `DateTime`
//! profile used by XEP-0203 delay stamps and the MUC `<history since=…/>` attribute.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time, milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

impl Timestamp {
    /// A timestamp from Unix milliseconds.
    pub const fn from_unix_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// A timestamp from Unix seconds.
    pub const fn from_unix_secs(secs: u64) -> Self {
        Timestamp(secs.saturating_mul(1000))
    }

    /// Converts a `SystemTime`; times before the epoch become the epoch.
    pub fn from_system(t: SystemTime) -> Self {
        let ms = t
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Timestamp(ms)
    }

    /// The wall clock now; for drivers (the state machines take time as a parameter).
    pub fn now() -> Self {
        Self::from_system(SystemTime::now())
    }

    /// Milliseconds since the epoch.
    pub const fn unix_millis(self) -> u64 {
        self.0
    }

    /// This time plus a duration (saturating).
    pub fn plus(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// This time minus a duration (saturating at the epoch).
    pub fn minus(self, d: Duration) -> Self {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Timestamp(self.0.saturating_sub(ms))
    }

    /// Milliseconds elapsed from `earlier` to `self` (0 if `earlier` is later).
    pub fn millis_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Formats as an XEP-0082 DateTime in UTC: `2002-10-13T23:58:37Z`, with `.mmm` when the
    /// milliseconds are not zero.
    pub fn to_xep0082(self) -> String {
        let secs = self.0 / 1000;
        let ms = self.0 % 1000;
        let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX);
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        let (hh, mm, ss) = (rem / 3600, (rem % 3600) / 60, rem % 60);
        if ms == 0 {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
        } else {
            format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z")
        }
    }

    /// Parses an XEP-0082 DateTime (`CCYY-MM-DDThh:mm:ss[.sss](Z|(+|-)hh:mm)`); `None` when
    /// malformed or before the epoch.
    pub fn parse_xep0082(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 20 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        if b.get(10) != Some(&b'T') || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<i64> {
            let part = s.get(from..to)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
        let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut rest = s.get(19..)?;
        let mut millis = 0i64;
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let text = frac.get(..digits)?;
            let mut ms = 0i64;
            for (i, c) in text.bytes().take(3).enumerate() {
                let scale = [100, 10, 1].get(i).copied().unwrap_or(0);
                ms += i64::from(c - b'0') * scale;
            }
            millis = ms;
            rest = frac.get(digits..)?;
        }
        let offset_secs = match rest {
            "Z" => 0,
            tz if tz.len() == 6 && (tz.starts_with('+') || tz.starts_with('-')) => {
                let oh = num_in(tz, 1, 3)?;
                let om = num_in(tz, 4, 6)?;
                if tz.as_bytes().get(3) != Some(&b':') || oh > 23 || om > 59 {
                    return None;
                }
                let off = oh * 3600 + om * 60;
                if tz.starts_with('-') { -off } else { off }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let total = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
        if total < 0 {
            return None;
        }
        let ms = total.checked_mul(1000)?.checked_add(millis)?;
        u64::try_from(ms).ok().map(Timestamp)
    }
}

fn num_in(s: &str, from: usize, to: usize) -> Option<i64> {
    let part = s.get(from..to)?;
    if !part.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// A proleptic Gregorian date to days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (1_034_553_517_000, "2002-10-13T23:58:37Z"),
            (951_782_400_000, "2000-02-29T00:00:00Z"),
            (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
        ];
        for (ms, text) in cases {
            assert_eq!(Timestamp::from_unix_millis(ms).to_xep0082(), text);
            assert_eq!(
                Timestamp::parse_xep0082(text),
                Some(Timestamp(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let base = Timestamp::parse_xep0082("2002-10-13T23:58:37Z").unwrap();
        assert_eq!(
            Timestamp::parse_xep0082("2002-10-14T01:58:37+02:00"),
            Some(base)
        );
        assert_eq!(
            Timestamp::parse_xep0082("2002-10-13T22:58:37-01:00"),
            Some(base)
        );
        assert_eq!(
            Timestamp::parse_xep0082("2002-10-13T23:58:37.5Z"),
            Some(base.plus(Duration::from_millis(500)))
        );
        assert_eq!(
            Timestamp::parse_xep0082("2002-10-13T23:58:37.123456Z"),
            Some(base.plus(Duration::from_millis(123)))
        );
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "",
            "2002-10-13",
            "2002-10-13T23:58:37",
            "2002-13-13T23:58:37Z",
            "2002-10-13T24:58:37Z",
            "2002-10-13T23:58:37+0200",
            "2002-10-13T23:58:37.Z",
            "1969-12-31T23:59:59Z",
            "20x2-10-13T23:58:37Z",
            "2002-10-13T23:58:37Zjunk",
        ] {
            assert_eq!(Timestamp::parse_xep0082(bad), None, "{bad}");
        }
    }

    #[test]
    fn arithmetic_saturates() {
        let t = Timestamp::from_unix_secs(10);
        assert_eq!(t.minus(Duration::from_secs(20)), Timestamp(0));
        assert_eq!(t.plus(Duration::from_secs(1)).unix_millis(), 11_000);
        assert_eq!(t.millis_since(Timestamp(20_000)), 0);
    }
}
