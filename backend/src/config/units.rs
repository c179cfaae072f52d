//! Caddyfile values with units: durations (`15s`, `1m30s`, `500ms`, as Go's
//! `time.ParseDuration`, plus Caddy's `d` for days) and sizes (`1MB`, `512KiB`, as
//! `humanize.ParseBytes`, which Caddy uses for `max_size`).

use std::time::Duration;

/// Parses a duration; `None` when it is not one. A bare `0` is zero, as in Go.
pub fn duration(text: &str) -> Option<Duration> {
    if text == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = text;
    let mut total = Duration::ZERO;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .filter(|&i| i > 0)?;
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "d" => 86400.0,
            _ => return None,
        };
        total += Duration::try_from_secs_f64(value * seconds).ok()?;
        rest = &rest[unit_len..];
    }
    (!text.is_empty()).then_some(total)
}

/// Parses a byte size: a number with an optional unit, `KB`/`MB`/`GB` powers of 1000,
/// `KiB`/`MiB`/`GiB` powers of 1024, case-insensitive; `None` when it is not one.
pub fn size(text: &str) -> Option<u64> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let value: f64 = text[..split].parse().ok()?;
    let factor: u64 = match text[split..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "ki" | "kib" => 1 << 10,
        "m" | "mb" => 1000 * 1000,
        "mi" | "mib" => 1 << 20,
        "g" | "gb" => 1000 * 1000 * 1000,
        "gi" | "gib" => 1 << 30,
        _ => return None,
    };
    let bytes = value * factor as f64;
    (bytes.is_finite() && bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_go() {
        assert_eq!(duration("15s"), Some(Duration::from_secs(15)));
        assert_eq!(duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(duration("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(duration("0s"), Some(Duration::ZERO));
        assert_eq!(duration("0"), Some(Duration::ZERO));
        for bad in ["", "15", "s", "15x", "1m-2s", "abc"] {
            assert_eq!(duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn sizes_as_humanize() {
        assert_eq!(size("1MB"), Some(1_000_000));
        assert_eq!(size("1MiB"), Some(1_048_576));
        assert_eq!(size("10kb"), Some(10_000));
        assert_eq!(size("512"), Some(512));
        assert_eq!(size("1.5KiB"), Some(1536));
        for bad in ["", "MB", "1XB", "-1"] {
            assert_eq!(size(bad), None, "{bad}");
        }
    }
}
