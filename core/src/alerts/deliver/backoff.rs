//! How long to wait before trying a failed delivery again: doubling from
//! the first delay up to the longest, with a little jitter so deliveries
//! that failed together do not all come back at the same instant.

use std::time::Duration;

/// Jitter: the delay is scaled by a factor in [1 - JITTER, 1 + JITTER).
const JITTER: f64 = 0.1;

/// The wait after the `failures`-th failed attempt (1 for the first);
/// `random` is uniform in [0, 1). Never longer than `max`.
pub(super) fn delay(failures: u32, first: Duration, max: Duration, random: f64) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    let base = first.saturating_mul(1u32 << doublings).min(max);
    let factor = 1.0 - JITTER + 2.0 * JITTER * random.clamp(0.0, 1.0);
    base.mul_f64(factor).min(max)
}

/// A uniform number in [0, 1) (0.5 when the system has no randomness).
pub(super) fn random() -> f64 {
    match getrandom::u64() {
        Ok(r) => (r >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// What a receiver asked for in `Retry-After` (seconds only; a date is
/// ignored), at most a day.
pub(super) fn retry_after(value: Option<&str>) -> Option<Duration> {
    let secs: u64 = value?.trim().parse().ok()?;
    Some(Duration::from_secs(secs.min(86_400)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn doubles_from_the_first_delay_up_to_the_longest() {
        let first = 10 * S;
        let max = 30 * 60 * S;
        let plain: Vec<u64> = (1..=10).map(|n| delay(n, first, max, 0.5).as_secs()).collect();
        assert_eq!(plain, [10, 20, 40, 80, 160, 320, 640, 1280, 1800, 1800]);
        assert_eq!(delay(1000, first, max, 0.5), max, "no overflow however many failures");
    }

    #[test]
    fn jitter_is_a_tenth_either_way_and_never_passes_the_longest() {
        let first = 10 * S;
        let max = 30 * 60 * S;
        assert_eq!(delay(1, first, max, 0.0), 9 * S);
        assert!(delay(1, first, max, 0.999) < 11 * S);
        assert!(delay(1, first, max, 0.999) > 10 * S);
        assert_eq!(delay(20, first, max, 0.999), max);
        for _ in 0..100 {
            let r = random();
            assert!((0.0..1.0).contains(&r));
        }
    }

    #[test]
    fn retry_after_takes_seconds_only() {
        assert_eq!(retry_after(Some(" 120 ")), Some(120 * S));
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(Some("999999999")), Some(86_400 * S));
        assert_eq!(retry_after(None), None);
    }
}
