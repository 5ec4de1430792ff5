//! UTC timestamps as text, without a date library (this module runs in wasm).
//! The event log shows and takes UTC only: one clock for every reader.

use thiserror::Error;

const NS_PER_SEC: i64 = 1_000_000_000;

#[derive(Debug, Error, PartialEq)]
#[error("'{0}' is not a time: use YYYY-MM-DD, YYYY-MM-DDTHH:MM or YYYY-MM-DDTHH:MM:SS (UTC)")]
pub struct TsParseError(pub String);

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2026-11-22 09:05:01.123 UTC`
pub fn format_ts(ts_ns: i64) -> String {
    let secs = ts_ns.div_euclid(NS_PER_SEC);
    let millis = ts_ns.rem_euclid(NS_PER_SEC) / 1_000_000;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}.{millis:03} UTC",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// Parses a UTC time as a person types it (or as `<input type=datetime-local>`
/// sends it) into unix nanoseconds.
pub fn parse_ts(text: &str) -> Result<i64, TsParseError> {
    let err = || TsParseError(text.to_string());
    let t = text.trim().trim_end_matches('Z').trim_end_matches(" UTC");
    let (date, clock) = match t.split_once(['T', ' ']) {
        Some((d, c)) => (d, Some(c)),
        None => (t, None),
    };
    let mut parts = date.split('-');
    let year: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
    let month: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
    let day: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(err());
    }
    if !(1970..=9999).contains(&year) {
        return Err(err());
    }
    let mut secs = days_from_civil(year, month, day) * 86_400;
    if let Some(clock) = clock {
        let mut fields = clock.split(':');
        let h: i64 = fields.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        let m: i64 = fields.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        let s: f64 = match fields.next() {
            Some(p) => p.parse().map_err(|_| err())?,
            None => 0.0,
        };
        if fields.next().is_some() || !(0..24).contains(&h) || !(0..60).contains(&m) || !(0.0..60.0).contains(&s) {
            return Err(err());
        }
        secs += h * 3600 + m * 60;
        return Ok(secs * NS_PER_SEC + (s * 1e9) as i64);
    }
    Ok(secs * NS_PER_SEC)
}

/// `2026-11-22T09:05:01.123456789Z`: RFC 3339 in UTC with nine digits of
/// fraction, as the engine stamps log lines (and berth's downloads show them).
pub fn format_rfc3339(ts_ns: i64) -> String {
    let secs = ts_ns.div_euclid(NS_PER_SEC);
    let nanos = ts_ns.rem_euclid(NS_PER_SEC);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    )
}

/// A whole number of `len` ASCII digits at the start of `b`.
fn digits(b: &[u8], len: usize) -> Option<i64> {
    let field = b.get(..len)?;
    field
        .iter()
        .try_fold(0i64, |n, c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
}

/// An RFC 3339 time (`2026-11-22T09:05:01Z`, `…01.5+02:00`, up to nine
/// digits of fraction, `T` or a space between date and time) in Unix
/// nanoseconds; None when `text` is not one. Exact: no floating point.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (digits(b, 4)?, digits(&b[5..], 2)?, digits(&b[8..], 2)?);
    let (hour, minute, second) = (digits(&b[11..], 2)?, digits(&b[14..], 2)?, digits(&b[17..], 2)?);
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos = 0i64;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let len = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if len == 0 || len > 9 {
            return None;
        }
        nanos = digits(fraction, len)? * 10i64.pow(9 - len as u32);
        rest = &fraction[len..];
    }
    let offset_secs = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let hours = digits(&[*h1, *h2], 2)?;
            let minutes = digits(&[*m1, *m2], 2)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let offset = hours * 3600 + minutes * 60;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * NS_PER_SEC + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let ns = parse_ts("2026-11-22T09:05:01").unwrap();
        assert_eq!(format_ts(ns), "2026-11-22 09:05:01.000 UTC");
        assert_eq!(parse_ts("1970-01-01").unwrap(), 0);
        assert_eq!(parse_ts("2000-02-29 00:00").unwrap(), 951_782_400 * NS_PER_SEC);
        assert_eq!(format_ts(1_700_000_000_123_000_000), "2023-11-14 22:13:20.123 UTC");
    }

    #[test]
    fn rfc3339_round_trips_to_the_nanosecond() {
        let ns = 1_700_000_000_123_456_789;
        assert_eq!(format_rfc3339(ns), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20.123456789Z"), Some(ns));
        assert_eq!(parse_rfc3339("2023-11-14T22:13:20Z"), Some(1_700_000_000 * NS_PER_SEC));
        assert_eq!(
            parse_rfc3339("2023-11-14 22:13:20.5Z"),
            Some(1_700_000_000 * NS_PER_SEC + 500_000_000)
        );
        assert_eq!(
            parse_rfc3339("2023-11-15T00:13:20+02:00"),
            Some(1_700_000_000 * NS_PER_SEC),
            "an offset counts"
        );
        for bad in [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20.1234567891Z",
            "2023-13-14T22:13:20Z",
            "2023-11-14T22:13:20+2:00",
            "2023-11-14T22:13:20Zjunk",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01",
            "2026-11-22T25:00",
            "2026-11-22T10:00:00:00",
        ] {
            assert!(parse_ts(bad).is_err(), "{bad}");
        }
    }
}
