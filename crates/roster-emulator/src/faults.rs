//! Fault injection: latency, 500/503 answers, connection resets and hangs, drawn from a seed.
//!
//! The draw for a request depends only on the seed and the request's sequence number (the
//! n-th SCIM request the emulator received), so a sequential client sees the same faults on
//! every run. Pure: this module decides, `http` carries the decision out.

use roster_core::splitmix::SplitMix64;

/// What to inject; probabilities are in `[0, 1]` and must add up to at most 1.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FaultConfig {
    pub seed: u64,
    /// Added to every SCIM request, in emulated ms.
    pub latency_ms: u64,
    /// A uniform extra delay in `[0, jitter_ms]`, emulated ms.
    pub jitter_ms: u64,
    pub p_500: f64,
    pub p_503: f64,
    /// Close the connection with a TCP reset instead of answering.
    pub p_reset: f64,
    /// Answer nothing for `hang_ms`, then reset the connection.
    pub p_hang: f64,
    /// How long a hang lasts, emulated ms.
    pub hang_ms: u64,
}

/// The default hang: longer than the usual 30-60 s client timeouts.
pub const DEFAULT_HANG_MS: u64 = 120_000;

impl FaultConfig {
    pub fn check(&self) -> Result<(), String> {
        let ps = [
            ("500", self.p_500),
            ("503", self.p_503),
            ("reset", self.p_reset),
            ("hang", self.p_hang),
        ];
        for (name, p) in ps {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "the {name} probability must be between 0 and 1, not {p}"
                ));
            }
        }
        let sum: f64 = ps.iter().map(|(_, p)| p).sum();
        if sum > 1.0 + 1e-9 {
            return Err(format!(
                "fault probabilities add up to {sum}, more than 1; lower some of them"
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    Status(u16),
    Reset,
    Hang,
}

/// The decision for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Delay before answering (or before the reset), emulated ms.
    pub delay_ms: u64,
    pub fault: Fault,
}

/// Draws the plan for request number `seq`.
pub fn plan(cfg: &FaultConfig, seq: u64) -> Plan {
    let mut rng = SplitMix64::new(cfg.seed ^ seq.wrapping_mul(0xD1B5_4A32_D192_ED03));
    let jitter = match cfg.jitter_ms {
        0 => 0,
        j => rng.next_u64() % (j + 1),
    };
    let u = rng.next_unit();
    let mut edge = 0.0;
    let mut fault = Fault::None;
    for (p, f) in [
        (cfg.p_reset, Fault::Reset),
        (cfg.p_hang, Fault::Hang),
        (cfg.p_500, Fault::Status(500)),
        (cfg.p_503, Fault::Status(503)),
    ] {
        edge += p;
        if u < edge {
            fault = f;
            break;
        }
    }
    Plan {
        delay_ms: cfg.latency_ms + jitter,
        fault,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(cfg: &FaultConfig, n: u64) -> Vec<Fault> {
        (0..n).map(|s| plan(cfg, s).fault).collect()
    }

    #[test]
    fn same_seed_same_faults_other_seed_other_faults() {
        let a = FaultConfig {
            seed: 7,
            p_500: 0.2,
            p_reset: 0.1,
            ..Default::default()
        };
        assert_eq!(faults(&a, 200), faults(&a, 200));
        let b = FaultConfig { seed: 8, ..a };
        assert_ne!(faults(&a, 200), faults(&b, 200));
    }

    #[test]
    fn frequencies_follow_the_probabilities() {
        let cfg = FaultConfig {
            seed: 1,
            p_500: 0.1,
            p_503: 0.2,
            p_reset: 0.05,
            p_hang: 0.05,
            ..Default::default()
        };
        let all = faults(&cfg, 20_000);
        let share = |f: Fault| all.iter().filter(|&&x| x == f).count() as f64 / 20_000.0;
        for (f, p) in [
            (Fault::Status(500), 0.1),
            (Fault::Status(503), 0.2),
            (Fault::Reset, 0.05),
            (Fault::Hang, 0.05),
            (Fault::None, 0.6),
        ] {
            assert!((share(f) - p).abs() < 0.015, "{f:?}: {}", share(f));
        }
    }

    #[test]
    fn latency_is_fixed_plus_bounded_jitter() {
        let cfg = FaultConfig {
            seed: 3,
            latency_ms: 100,
            jitter_ms: 50,
            ..Default::default()
        };
        let delays: Vec<u64> = (0..1000).map(|s| plan(&cfg, s).delay_ms).collect();
        assert!(delays.iter().all(|d| (100..=150).contains(d)));
        assert!(delays.contains(&100) || delays.contains(&101));
        assert!(delays.iter().any(|&d| d >= 145));
        assert_eq!(
            plan(&FaultConfig::default(), 5),
            Plan {
                delay_ms: 0,
                fault: Fault::None
            }
        );
    }

    #[test]
    fn issue12_fault_draws_are_the_same_as_before_the_shared_generator() {
        let cfg = FaultConfig {
            seed: 7,
            jitter_ms: 1000,
            p_500: 0.3,
            p_reset: 0.2,
            ..Default::default()
        };
        let drawn: Vec<(u64, Fault)> = (0..8)
            .map(|s| plan(&cfg, s))
            .map(|p| (p.delay_ms, p.fault))
            .collect();
        assert_eq!(
            drawn,
            [
                (310, Fault::Reset),
                (389, Fault::None),
                (743, Fault::None),
                (276, Fault::None),
                (838, Fault::None),
                (885, Fault::None),
                (44, Fault::Status(500)),
                (862, Fault::Reset),
            ]
        );
    }

    #[test]
    fn probabilities_are_checked() {
        let ok = FaultConfig {
            p_500: 0.5,
            p_503: 0.5,
            ..Default::default()
        };
        assert!(ok.check().is_ok());
        assert!(FaultConfig { p_hang: 0.6, ..ok }.check().is_err());
        assert!(
            FaultConfig {
                p_reset: -0.1,
                ..Default::default()
            }
            .check()
            .is_err()
        );
    }
}
