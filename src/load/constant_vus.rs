//! `constant-vus`: a fixed number of VUs loop for a duration.

use super::VuProfile;
use std::time::Duration;

pub struct ConstantVus {
    vus: u32,
    duration: Duration,
}

impl ConstantVus {
    pub fn new(vus: u32, duration: Duration) -> Self {
        ConstantVus { vus, duration }
    }
}

impl VuProfile for ConstantVus {
    fn vus_at(&self, t: Duration) -> u32 {
        if t < self.duration { self.vus } else { 0 }
    }
    fn duration(&self) -> Duration {
        self.duration
    }
    fn max_vus(&self) -> u32 {
        self.vus
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_vus_for_the_whole_duration_then_none() {
        let p = ConstantVus::new(5, Duration::from_secs(2));
        assert_eq!(p.vus_at(Duration::ZERO), 5);
        assert_eq!(p.vus_at(Duration::from_millis(1999)), 5);
        assert_eq!(p.vus_at(Duration::from_secs(2)), 0);
    }
}
