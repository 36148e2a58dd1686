//! What one request cost, in CPU, part by part: the harness's own (load generator, wire proxy), the app's (the
//! in-process rust-http app, or PHP and nginx), the backend's when it runs on this machine. Set beside the CPU the
//! machine had per request, it says what bounds a point's throughput: the backend's ceiling, the machine's CPU
//! (and whose share of it), or neither (latency × users: add users).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::cpu::Part;

/// The harness's own parts may take this share of a request's CPU before the report says they distort it.
pub const HARNESS_SHARE_LIMIT: f64 = 0.2;

/// CPU microseconds per request (every request of the point, ramp-up included), by part.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CostPerRequest {
    pub requests: u64,
    pub wall_s: f64,
    pub cores: usize,
    /// What the machine had: cores × wall ÷ requests.
    pub budget_us: f64,
    pub generator_us: Option<f64>,
    pub proxy_us: Option<f64>,
    /// The in-process app's runtime (rust-http).
    pub app_us: Option<f64>,
    /// PHP's processes (php-fpm's pool or php -S's workers).
    pub php_us: Option<f64>,
    /// nginx, in front of php-fpm.
    pub web_server_us: Option<f64>,
    /// The backend, when it runs here: dynoxide's threads, or a backend's server process.
    pub backend_us: Option<f64>,
    /// The rest of the harness process (its main runtime, blocking pools).
    pub other_us: Option<f64>,
}

impl CostPerRequest {
    /// From the CPU each part used while the users ran. The generator's own total (its threads' rusage as they
    /// ended) replaces what /proc saw of it.
    pub fn of(
        used: &BTreeMap<Part, Duration>,
        generator: Option<Duration>,
        requests: u64,
        wall: Duration,
        cores: usize,
    ) -> CostPerRequest {
        let per = |d: Duration| d.as_secs_f64() * 1e6 / requests.max(1) as f64;
        let part = |p: Part| used.get(&p).copied().filter(|d| !d.is_zero()).map(per);
        let sum = |parts: &[Part]| {
            let total: Duration = parts.iter().filter_map(|p| used.get(p)).sum();
            (!total.is_zero()).then(|| per(total))
        };
        CostPerRequest {
            requests,
            wall_s: wall.as_secs_f64(),
            cores,
            budget_us: cores as f64 * wall.as_secs_f64() * 1e6 / requests.max(1) as f64,
            generator_us: generator.map(per).or_else(|| part(Part::Generator)),
            proxy_us: part(Part::Proxy),
            app_us: part(Part::InProcessApp),
            php_us: part(Part::Php),
            web_server_us: part(Part::WebServer),
            backend_us: sum(&[Part::InProcessBackend, Part::BackendProcess]),
            other_us: sum(&[Part::HarnessOther, Part::OtherProcess]),
        }
    }

    /// The load generator and the wire proxy: what the harness adds to every request.
    pub fn harness_us(&self) -> Option<f64> {
        match (self.generator_us, self.proxy_us) {
            (None, None) => None,
            (g, p) => Some(g.unwrap_or(0.0) + p.unwrap_or(0.0)),
        }
    }

    /// The app: in process, or PHP plus nginx.
    pub fn subject_us(&self) -> Option<f64> {
        let parts = [self.app_us, self.php_us, self.web_server_us];
        parts
            .iter()
            .any(Option::is_some)
            .then(|| parts.iter().flatten().sum())
    }

    /// Every part measured.
    pub fn total_us(&self) -> f64 {
        [
            self.generator_us,
            self.proxy_us,
            self.app_us,
            self.php_us,
            self.web_server_us,
            self.backend_us,
            self.other_us,
        ]
        .iter()
        .flatten()
        .sum()
    }

    /// The harness's share of a request's CPU.
    pub fn harness_share(&self) -> Option<f64> {
        let total = self.total_us();
        self.harness_us().filter(|_| total > 0.0).map(|h| h / total)
    }

    /// How busy the machine was with everything measured: total ÷ budget.
    pub fn busy(&self) -> f64 {
        if self.budget_us > 0.0 {
            self.total_us() / self.budget_us
        } else {
            0.0
        }
    }

    /// What bounds the point: `backend ceiling`, `CPU: php 61%, harness 22%`, or `neither (machine 35% busy)`.
    pub fn bound(&self, ceiling_fraction: Option<f64>) -> String {
        if ceiling_fraction.is_some_and(|f| f >= 0.8) {
            return "backend ceiling".to_owned();
        }
        let busy = self.busy();
        if busy < 0.8 {
            return format!(
                "neither: machine {:.0}% busy (latency × users; more users would add load)",
                busy * 100.0
            );
        }
        let total = self.total_us().max(1e-9);
        let mut shares: Vec<(&str, f64)> = [
            ("harness", self.harness_us()),
            ("app", self.app_us),
            ("php", self.php_us),
            ("nginx", self.web_server_us),
            ("backend", self.backend_us),
        ]
        .into_iter()
        .filter_map(|(name, us)| us.map(|us| (name, us / total)))
        .filter(|(_, share)| *share >= 0.05)
        .collect();
        shares.sort_by(|a, b| b.1.total_cmp(&a.1));
        let parts: Vec<String> = shares
            .iter()
            .take(3)
            .map(|(name, share)| format!("{name} {:.0}%", share * 100.0))
            .collect();
        format!("CPU ({:.0}% busy): {}", busy * 100.0, parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_add_up_and_name_the_bound() {
        let used = BTreeMap::from([
            (Part::Proxy, Duration::from_millis(300)),
            (Part::InProcessApp, Duration::from_millis(900)),
            (Part::InProcessBackend, Duration::from_millis(600)),
            (Part::HarnessOther, Duration::from_millis(100)),
        ]);
        // 10 000 requests in 1 s on 2 cores: 200 µs of CPU each.
        let cost = CostPerRequest::of(
            &used,
            Some(Duration::from_millis(100)),
            10_000,
            Duration::from_secs(1),
            2,
        );
        assert!((cost.budget_us - 200.0).abs() < 1e-9);
        assert!((cost.generator_us.unwrap() - 10.0).abs() < 1e-9);
        assert!((cost.proxy_us.unwrap() - 30.0).abs() < 1e-9);
        assert!((cost.harness_us().unwrap() - 40.0).abs() < 1e-9);
        assert!((cost.total_us() - 200.0).abs() < 1e-9);
        assert!((cost.harness_share().unwrap() - 0.2).abs() < 1e-9);
        assert_eq!(cost.php_us, None);
        let bound = cost.bound(Some(0.3));
        assert!(bound.starts_with("CPU (100% busy): app 45%"), "{bound}");
        assert_eq!(cost.bound(Some(0.9)), "backend ceiling");
        let idle = CostPerRequest::of(
            &used,
            Some(Duration::from_millis(100)),
            10_000,
            Duration::from_secs(10),
            2,
        );
        let bound = idle.bound(None);
        assert!(bound.starts_with("neither: machine 10% busy"), "{bound}");
    }
}
