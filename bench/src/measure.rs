//! The figures: latency samples and their quantiles, and the lines of the summary.

use std::fmt::Write as _;
use std::time::Duration;

/// Latency samples of one kind of round trip.
#[derive(Default)]
pub(crate) struct Samples(Vec<Duration>);

impl Samples {
    pub(crate) fn push(&mut self, took: Duration) {
        self.0.push(took);
    }

    pub(crate) fn extend(&mut self, other: Samples) {
        self.0.extend(other.0);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The `q`-quantile (0.5 for the median), by the nearest-rank method.
    pub(crate) fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.0.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1]
    }

    pub(crate) fn p50(&self) -> Duration {
        self.quantile(0.5)
    }

    pub(crate) fn p99(&self) -> Duration {
        self.quantile(0.99)
    }
}

/// Microseconds, for the summary.
pub(crate) fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Milliseconds, for the summary.
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The summary the bench prints and writes: one line per figure.
#[derive(Default)]
pub(crate) struct Summary(String);

impl Summary {
    pub(crate) fn heading(&mut self, text: &str) {
        let _ = writeln!(self.0, "\n{text}");
        println!("\n{text}");
    }

    pub(crate) fn line(&mut self, text: String) {
        let _ = writeln!(self.0, "  {text}");
        println!("  {text}");
    }

    pub(crate) fn text(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let mut s = Samples::default();
        for n in 1..=100 {
            s.push(Duration::from_micros(n));
        }
        assert_eq!(s.p50(), Duration::from_micros(50));
        assert_eq!(s.p99(), Duration::from_micros(99));
        assert_eq!(s.quantile(1.0), Duration::from_micros(100));
        assert_eq!(Samples::default().p50(), Duration::ZERO);
    }
}
