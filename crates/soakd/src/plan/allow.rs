//! `safety.allowed_hosts`: one check for every outgoing connection, at check time and run time.
//!
//! Hosts are compared after normalisation, so that the spelling of a URL cannot slip past the
//! list: case and a trailing dot (`LOCALHOST.`), userinfo (`http://127.0.0.1@evil/` goes to
//! `evil`), IPv4 written in hex, octal or as one number (`0x7f000001`), IPv6 with or without
//! brackets and IPv4-mapped IPv6 (`[::ffff:127.0.0.1]`). The same function serves static URLs
//! (plan time), rendered request and WebSocket URLs (run time), the SUT Prometheus and drills.

use std::net::IpAddr;
use url::Host;

/// A host as the allow-list compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Norm {
    Ip(IpAddr),
    Domain(String),
}

fn from_host(h: Host<&str>) -> Norm {
    match h {
        Host::Ipv4(ip) => Norm::Ip(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Norm::Ip(match ip.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(ip),
        }),
        Host::Domain(d) => Norm::Domain(d.trim_end_matches('.').to_ascii_lowercase()),
    }
}

/// An allow-list entry or a host string (`host_str()`), normalised; None if it is no host.
fn normalise(s: &str) -> Option<Norm> {
    let s = s.trim().trim_end_matches('.').to_ascii_lowercase();
    let bare = s
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(&s);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Some(from_host(match ip {
            IpAddr::V4(v4) => Host::Ipv4(v4),
            IpAddr::V6(v6) => Host::Ipv6(v6),
        }));
    }
    // Parsing as a special-scheme URL applies the WHATWG host rules (IPv4 number forms, IDNA).
    let u = url::Url::parse(&format!("http://{bare}/")).ok()?;
    u.host().map(from_host)
}

/// True when `allowed` is empty or names the host of `url`.
pub fn url_allowed(url: &url::Url, allowed: &[String]) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let Some(host) = url.host().map(from_host) else {
        return false;
    };
    allowed.iter().any(|a| normalise(a).as_ref() == Some(&host))
}

/// `url_allowed` for a host as `Url::host_str` spells it.
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    allowed.is_empty()
        || normalise(host)
            .is_some_and(|h| allowed.iter().any(|a| normalise(a).as_ref() == Some(&h)))
}

/// The run-time check of a rendered URL: false when it must not be sent (outside the list, or
/// no host at all while a list is set).
pub fn rendered_allowed(rendered: &str, allowed: &[String]) -> bool {
    allowed.is_empty() || url::Url::parse(rendered).is_ok_and(|u| url_allowed(&u, allowed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str, list: &[&str]) -> bool {
        let list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
        rendered_allowed(url, &list)
    }

    #[test]
    fn spellings_of_an_allowed_host_are_allowed() {
        for url in [
            "http://127.0.0.1:8080/x",
            "http://0x7f000001/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "ws://127.0.0.1/ws",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert!(ok(url, &["127.0.0.1"]), "{url}");
        }
        assert!(ok("https://API.Example.COM./", &["api.example.com"]));
        assert!(ok("http://[::1]:80/", &["::1"]));
        assert!(ok("http://[::1]:80/", &["[::1]"]));
        assert!(ok("http://api.example.com/", &["API.example.com."]));
    }

    #[test]
    fn other_hosts_and_userinfo_tricks_are_refused() {
        assert!(!ok("http://127.0.0.2/", &["127.0.0.1"]));
        assert!(!ok("http://127.0.0.1@evil.example/", &["127.0.0.1"]));
        assert!(!ok("http://127.0.0.1.evil.example/", &["127.0.0.1"]));
        assert!(!ok("/relative", &["127.0.0.1"]));
        assert!(!ok("file:///etc/passwd", &["127.0.0.1"]));
        assert!(ok("http://anything/", &[]), "an empty list allows all");
    }
}
