//! Config generator for the daemon-scale benchmark (`benches/daemon_scale.rs`): `n` continuous
//! scenarios with the same run length, so their runs start and end together (issue 13: the
//! scrape at the moment all runs end). Each sends one GET of `/ok` every `every` and carries two
//! thresholds, so every run end publishes verdict and streak gauges.

/// The YAML of a daemon with `n` scenarios against `target`, state and results under `dir`.
pub fn config(n: usize, target: &str, dir: &str, run: &str, every: &str) -> String {
    let mut y = format!(
        "server: {{ listen: \"127.0.0.1:0\" }}\n\
         state_dir: \"{dir}/state\"\n\
         results: {{ dir: \"{dir}/results\", retention: 1d }}\n\
         safety: {{ allowed_hosts: [\"127.0.0.1\"] }}\n\
         defaults: {{ timeout: 2s }}\n\
         scenarios:\n"
    );
    for i in 0..n {
        y.push_str(&format!(
            "  s{i:04}:\n\
             \x20   schedule: {{ continuous: true }}\n\
             \x20   target: {{ base_url: \"{target}\" }}\n\
             \x20   load: {{ executor: constant-arrival-rate, rate: 1, time_unit: {every}, duration: {run}, pre_allocated_vus: 1, max_vus: 2 }}\n\
             \x20   mix: [ {{ name: ok, request: {{ url: /ok }} }} ]\n\
             \x20   thresholds: {{ http_req_duration: [\"p(95)<500\"], http_req_failed: [\"rate<0.01\"] }}\n"
        ));
    }
    y
}
