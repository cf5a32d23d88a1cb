//! What tests/replicas.rs takes from the rendered Helm chart, and how it stands in for
//! Kubernetes without a cluster: each pod of the StatefulSet is started the way the kubelet
//! would start it (the container's args and env with `$(VAR)` expanded, the downward-API fields
//! filled in, the config volume projected from the ConfigMap and the Secret), and Prometheus
//! scrapes each pod the way the Prometheus Operator would from the ServiceMonitor (its path,
//! scheme and job label; the labels the operator adds per pod).
//!
//! Loopback differences, each made explicit here: a pod's IP:9464 is 127.0.0.1:PORT, and its
//! volumes are directories of the test, reached through soakd's own `SOAKD__…` overrides of the
//! config's paths (the file stays the one the chart rendered, the same for every pod).

use crate::tools::{installed, root, run_ok, yaml_documents};
use base64::Engine as _;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

pub const RELEASE: &str = "soakd";
pub const NAMESPACE: &str = "soak";

/// The manifests of `helm template` for the test's values, as JSON.
pub struct Rendered(Vec<Value>);

/// `helm template soakd helm/soakd -n soak -f values --set-string set...`.
pub fn render(values: &Path, set: &[String]) -> Rendered {
    let mut cmd = Command::new(installed("helm"));
    cmd.current_dir(root())
        .args(["template", RELEASE, "helm/soakd", "--namespace", NAMESPACE])
        .arg("-f")
        .arg(values);
    for s in set {
        cmd.args(["--set-string", s]);
    }
    Rendered(yaml_documents(&run_ok(&mut cmd)))
}

impl Rendered {
    fn kind(&self, kind: &str) -> Vec<&Value> {
        self.0.iter().filter(|d| d["kind"] == kind).collect()
    }

    fn one(&self, kind: &str) -> &Value {
        match self.kind(kind)[..] {
            [d] => d,
            ref all => panic!(
                "expected one {kind} in the rendered chart, got {}",
                all.len()
            ),
        }
    }

    fn named(&self, kind: &str, name: &str) -> &Value {
        self.kind(kind)
            .into_iter()
            .find(|d| d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} {name} in the rendered chart"))
    }

    pub fn replicas(&self) -> u32 {
        self.one("StatefulSet")["spec"]["replicas"]
            .as_u64()
            .expect("spec.replicas") as u32
    }

    fn container(&self) -> &Value {
        &self.one("StatefulSet")["spec"]["template"]["spec"]["containers"][0]
    }

    /// `mountPath` of the container's volume `name`.
    pub fn mount(&self, name: &str) -> String {
        self.container()["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|m| m["name"] == name)
            .and_then(|m| m["mountPath"].as_str())
            .unwrap_or_else(|| panic!("the container mounts no volume {name}"))
            .to_owned()
    }

    /// Writes the projected `config` volume (ConfigMap keys, Secret items) into `dir`.
    pub fn project_config_volume(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        let volume = self.one("StatefulSet")["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == "config")
            .expect("a config volume");
        for src in volume["projected"]["sources"]
            .as_array()
            .expect("projected")
        {
            if let Some(name) = src["configMap"]["name"].as_str() {
                let cm = self.named("ConfigMap", name);
                for (k, v) in cm["data"].as_object().expect("data") {
                    std::fs::write(dir.join(k), v.as_str().unwrap()).unwrap();
                }
            }
            if let Some(name) = src["secret"]["name"].as_str() {
                let secret = self.named("Secret", name);
                for item in src["secret"]["items"].as_array().expect("items") {
                    let b64 = secret["data"][item["key"].as_str().unwrap()]
                        .as_str()
                        .expect("secret key");
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .expect("base64");
                    std::fs::write(dir.join(item["path"].as_str().unwrap()), bytes).unwrap();
                }
            }
        }
    }

    /// `spec.groups` of the PrometheusRule, as a rules file (JSON is YAML).
    pub fn rules_file(&self) -> String {
        let groups = &self.one("PrometheusRule")["spec"]["groups"];
        assert!(groups.is_array(), "PrometheusRule without spec.groups");
        json!({ "groups": groups }).to_string()
    }

    /// The scrape job the operator derives from the ServiceMonitor for `pods` (address, name),
    /// scrape interval overridden to 1 s.
    pub fn scrape_config(&self, pods: &[(String, String)]) -> String {
        let sm = self.one("ServiceMonitor");
        let ep = &sm["spec"]["endpoints"][0];
        let path = ep["path"].as_str().unwrap_or("/metrics");
        let scheme = ep["scheme"].as_str().unwrap_or("http");
        let port = ep["port"].as_str().expect("endpoint port");
        let namespace = sm["spec"]["namespaceSelector"]["matchNames"][0]
            .as_str()
            .expect("namespaceSelector");
        // The Service the ServiceMonitor selects: its jobLabel label is the job.
        let selector = sm["spec"]["selector"]["matchLabels"].as_object().unwrap();
        let svc = self
            .kind("Service")
            .into_iter()
            .find(|s| {
                selector
                    .iter()
                    .all(|(k, v)| s["metadata"]["labels"][k] == *v)
            })
            .expect("a Service selected by the ServiceMonitor");
        let service = svc["metadata"]["name"].as_str().unwrap();
        let job = sm["spec"]["jobLabel"]
            .as_str()
            .and_then(|l| svc["metadata"]["labels"][l].as_str())
            .unwrap_or(service);
        let container = self.container()["name"].as_str().unwrap();
        let sm_name = sm["metadata"]["name"].as_str().unwrap();
        let targets: Vec<Value> = pods
            .iter()
            .map(|(addr, pod)| {
                json!({ "targets": [addr], "labels": {
                    "job": job, "namespace": namespace, "pod": pod, "instance": addr,
                    "service": service, "endpoint": port, "container": container } })
            })
            .collect();
        json!([{
            "job_name": format!("serviceMonitor/{namespace}/{sm_name}/0"),
            "honor_labels": ep["honorLabels"].as_bool().unwrap_or(false),
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "metrics_path": path,
            "scheme": scheme,
            "static_configs": targets,
        }])
        .to_string()
    }

    /// Pod `index` of the StatefulSet: args and env as the kubelet would run the container.
    pub fn pod(&self, index: u32) -> Pod {
        let name = format!(
            "{}-{index}",
            self.one("StatefulSet")["metadata"]["name"]
                .as_str()
                .unwrap()
        );
        let c = self.container();
        let mut env: Vec<(String, String)> = Vec::new();
        for e in c["env"].as_array().into_iter().flatten() {
            let key = e["name"].as_str().unwrap().to_owned();
            let value = match (
                e["value"].as_str(),
                e["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
            ) {
                (Some(v), _) => expand(v, &env),
                (None, Some("metadata.name")) => name.clone(),
                (None, Some("metadata.labels['apps.kubernetes.io/pod-index']")) => {
                    index.to_string()
                }
                other => panic!("env {key}: no stand-in for {other:?}"),
            };
            env.push((key, value));
        }
        let args = c["args"]
            .as_array()
            .expect("container args (the image's entrypoint is soakd)")
            .iter()
            .map(|a| expand(a.as_str().unwrap(), &env))
            .collect();
        Pod { name, args, env }
    }
}

/// Kubernetes' `$(VAR)` expansion from the variables defined before.
fn expand(s: &str, env: &[(String, String)]) -> String {
    env.iter()
        .fold(s.to_owned(), |s, (k, v)| s.replace(&format!("$({k})"), v))
}

/// One replica as the kubelet would start it.
#[derive(Clone, Debug)]
pub struct Pod {
    pub name: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl Pod {
    /// Args and env with the container path `from` (a mount) replaced by the host dir `to`.
    pub fn mounted(mut self, from: &str, to: &Path) -> Pod {
        let to = to.display().to_string();
        let map = |s: &mut String| {
            if let Some(rest) = s.strip_prefix(from) {
                *s = format!("{to}{rest}");
            }
        };
        self.args.iter_mut().for_each(map);
        self.env.iter_mut().for_each(|(_, v)| map(v));
        self
    }

    /// The value of the container's env variable `key`.
    pub fn env(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}
