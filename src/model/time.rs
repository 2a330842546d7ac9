//! UTC date formatting for packet timestamps, without a time-zone database.

/// Formats seconds since the epoch as `YYYY-MM-DD HH:MM:SS.mmm` (UTC).
pub fn format_utc(secs_f64: f64) -> String {
    if !secs_f64.is_finite() || secs_f64 < 0.0 {
        return "-".to_string();
    }
    let total_ms = (secs_f64 * 1000.0).round() as u64;
    let ms = total_ms % 1000;
    let secs = total_ms / 1000;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let (y, mo, d) = civil_from_days((secs / 86_400) as i64);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{m:02}:{s:02}.{ms:03}")
}

/// Formats only the time of day `HH:MM:SS.mmm` (UTC).
pub fn format_time_of_day(secs_f64: f64) -> String {
    let full = format_utc(secs_f64);
    full.split_once(' ')
        .map(|(_, t)| t.to_string())
        .unwrap_or(full)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's `civil_from_days` algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(format_utc(0.0), "1970-01-01 00:00:00.000");
        // 2000-02-29 12:34:56.789 UTC
        assert_eq!(format_utc(951_827_696.789), "2000-02-29 12:34:56.789");
        // 2026-11-27 04:17:33 UTC
        assert_eq!(format_utc(1_795_753_053.0), "2026-11-27 04:17:33.000");
        assert_eq!(format_time_of_day(1_795_753_053.5), "04:17:33.500");
        assert_eq!(format_utc(f64::NAN), "-");
    }
}
