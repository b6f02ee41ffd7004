//! Who is asking: the client IP and user agent of a request.
//!
//! The IP is the TCP peer from [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo), so
//! serve the app with `into_make_service_with_connect_info::<SocketAddr>()`. Behind a
//! reverse proxy every peer is the proxy; then configure how many proxies to trust
//! (`SIGRA_TRUST_PROXY=1`, or [`SigraLayers::trust_proxy_hops`](super::SigraLayers::trust_proxy_hops)),
//! and the IP is read from `X-Forwarded-For`, counting hops **from the right**: each proxy
//! appends the address it saw, so the entry added by the nearest trusted proxy is the only
//! one nobody else could forge. Entries further left are written by the client and are never
//! used. Without a trusted proxy `X-Forwarded-For` is ignored entirely.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::ConnectInfo;
use axum::http::header::USER_AGENT;
use axum::http::{Extensions, HeaderMap, HeaderName};

use crate::audit::RequestMeta;
use crate::config::SigraConfig;

/// The environment variable naming how many reverse proxies to trust (`0`/`false` none,
/// `1`/`true` one, or a number up to 10): [`WebConfig::trust_proxy`]. An unreadable value
/// refuses to start, like every other setting.
///
/// [`WebConfig::trust_proxy`]: crate::config::WebConfig::trust_proxy
pub const TRUST_PROXY_ENV: &str = "SIGRA_TRUST_PROXY";

/// The most proxy hops that can be trusted.
const MAX_HOPS: u8 = 10;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The request's resolved client, inserted by the layers so every extractor agrees.
#[derive(Clone, Debug)]
pub(crate) struct ClientInfo(pub(crate) RequestMeta);

/// The number of proxies the configuration trusts ([`WebConfig::trust_proxy`], validated to
/// be at most 10 when the config was built).
///
/// [`WebConfig::trust_proxy`]: crate::config::WebConfig::trust_proxy
pub(crate) fn proxy_hops(config: &SigraConfig) -> u8 {
    u8::try_from(config.web().trust_proxy.min(u32::from(MAX_HOPS))).unwrap_or(0)
}

/// Logs, once per layer, the two deployment mistakes that make every client share one
/// address (and so one rate limit, one lockout history, one "new address" notice):
///
/// - **no `ConnectInfo`**: the router is served without
///   `into_make_service_with_connect_info::<SocketAddr>()`, so no client address is known;
/// - **an untrusted proxy**: requests carry `X-Forwarded-For` but no proxy is trusted
///   (`SIGRA_TRUST_PROXY` unset), so the proxy's address stands for every client.
///
/// Each is an `error!` (the first) or `warn!` (the second) on the first request that shows it,
/// never again: loud once, not a log flood.
#[derive(Debug, Default)]
pub(crate) struct DeploymentWarnings {
    no_peer: AtomicBool,
    untrusted_proxy: AtomicBool,
}

impl DeploymentWarnings {
    /// Looks at one request.
    pub(crate) fn observe(&self, headers: &HeaderMap, extensions: &Extensions, hops: u8) {
        let peer = extensions.get::<ConnectInfo<SocketAddr>>();
        if peer.is_none() && !self.no_peer.swap(true, Ordering::Relaxed) {
            tracing::error!(
                target: "sigra::web",
                "client addresses are unknown: serve the router with \
                 into_make_service_with_connect_info::<SocketAddr>(); until then every client \
                 shares one rate limit and no session or audit row records an address"
            );
        }
        if hops == 0
            && headers.contains_key(X_FORWARDED_FOR)
            && !self.untrusted_proxy.swap(true, Ordering::Relaxed)
        {
            let proxy = peer.map(|ConnectInfo(addr)| addr.ip().to_canonical());
            tracing::warn!(
                target: "sigra::web",
                proxy = ?proxy,
                "requests arrive with X-Forwarded-For but {TRUST_PROXY_ENV} trusts no proxy: \
                 the proxy's address stands for every client (one shared rate limit, one \
                 address in sessions and audit rows); set {TRUST_PROXY_ENV} to the number of \
                 proxies in front of the app"
            );
        }
    }
}

/// The client IP: the `hops`-th `X-Forwarded-For` entry from the right when proxies are
/// trusted and the header has that many valid entries, else the TCP peer.
pub(crate) fn client_ip(headers: &HeaderMap, extensions: &Extensions, hops: u8) -> Option<IpAddr> {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_canonical());
    if hops == 0 {
        return peer;
    }
    let entries: Vec<&str> = headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let forwarded = entries
        .len()
        .checked_sub(usize::from(hops))
        .and_then(|i| entries.get(i))
        .and_then(|entry| parse_forwarded_ip(entry));
    forwarded.or(peer)
}

/// Parses one `X-Forwarded-For` entry: an IP, optionally with a port (`1.2.3.4:5`,
/// `[::1]:5`).
fn parse_forwarded_ip(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The request's metadata: client IP and clamped user agent (lossy for non-UTF-8 bytes).
pub(crate) fn request_meta(headers: &HeaderMap, extensions: &Extensions, hops: u8) -> RequestMeta {
    let user_agent = headers
        .get(USER_AGENT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    RequestMeta::new(client_ip(headers, extensions, hops), user_agent)
}

/// The meta the layers resolved, or the TCP peer (no proxy trusted) without the layers.
pub(crate) fn resolved_meta(headers: &HeaderMap, extensions: &Extensions) -> RequestMeta {
    match extensions.get::<ClientInfo>() {
        Some(ClientInfo(meta)) => meta.clone(),
        None => request_meta(headers, extensions, 0),
    }
}

/// The rate-limit key part for an IP: IPv4 as is, IPv6 by its /64 network (one subscriber
/// usually holds a whole /64, so per-address limits would be trivial to dodge).
pub(crate) fn rate_limit_ip_key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn ext(peer: &str) -> Extensions {
        let mut e = Extensions::new();
        e.insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        e
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(X_FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_peer_wins_unless_a_proxy_is_trusted() {
        let e = ext("10.0.0.1:5000");
        let h = xff(&["203.0.113.9"]);
        assert_eq!(client_ip(&h, &e, 0), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(client_ip(&h, &e, 1), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(client_ip(&HeaderMap::new(), &Extensions::new(), 0), None);
    }

    #[test]
    fn hops_count_from_the_right_so_spoofed_entries_are_ignored() {
        let e = ext("10.0.0.1:5000");
        let h = xff(&["6.6.6.6, 198.51.100.7", "203.0.113.9"]);
        assert_eq!(client_ip(&h, &e, 1), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(client_ip(&h, &e, 2), Some("198.51.100.7".parse().unwrap()));
        // Fewer entries than trusted hops, or garbage: the peer.
        assert_eq!(client_ip(&h, &e, 4), Some("10.0.0.1".parse().unwrap()));
        let junk = xff(&["not-an-ip"]);
        assert_eq!(client_ip(&junk, &e, 1), Some("10.0.0.1".parse().unwrap()));
        let ported = xff(&["[2001:db8::1]:443"]);
        assert_eq!(
            client_ip(&ported, &e, 1),
            Some("2001:db8::1".parse().unwrap())
        );
    }

    #[test]
    fn mapped_addresses_are_canonical() {
        let e = ext("[::ffff:192.0.2.1]:80");
        assert_eq!(
            client_ip(&HeaderMap::new(), &e, 0),
            Some("192.0.2.1".parse().unwrap())
        );
    }

    #[test]
    fn deployment_mistakes_are_noticed() {
        let forwarded = {
            let mut h = HeaderMap::new();
            h.insert(X_FORWARDED_FOR, HeaderValue::from_static("198.51.100.7"));
            h
        };
        // Served correctly, no proxy: nothing to say.
        let w = DeploymentWarnings::default();
        w.observe(&HeaderMap::new(), &ext("192.0.2.1:5000"), 0);
        assert!(!w.no_peer.load(Ordering::Relaxed));
        assert!(!w.untrusted_proxy.load(Ordering::Relaxed));
        // A trusted proxy forwarding: fine too.
        w.observe(&forwarded, &ext("10.0.0.2:5000"), 1);
        assert!(!w.untrusted_proxy.load(Ordering::Relaxed));
        // A proxy nobody trusts: noticed.
        w.observe(&forwarded, &ext("10.0.0.2:5000"), 0);
        assert!(w.untrusted_proxy.load(Ordering::Relaxed));
        assert!(!w.no_peer.load(Ordering::Relaxed));
        // Served without ConnectInfo: noticed.
        w.observe(&HeaderMap::new(), &Extensions::new(), 0);
        assert!(w.no_peer.load(Ordering::Relaxed));
    }

    #[test]
    fn rate_limit_keys_group_ipv6_by_64() {
        assert_eq!(
            rate_limit_ip_key(Some("203.0.113.9".parse().unwrap())),
            "203.0.113.9"
        );
        assert_eq!(
            rate_limit_ip_key(Some("2001:db8:1:2:3:4:5:6".parse().unwrap())),
            "2001:db8:1:2::/64"
        );
        assert_eq!(rate_limit_ip_key(None), "unknown");
    }

    #[test]
    fn user_agents_are_clamped_and_lossy() {
        let mut h = HeaderMap::new();
        h.insert(USER_AGENT, HeaderValue::from_bytes(&[b'a'; 2000]).unwrap());
        let meta = request_meta(&h, &Extensions::new(), 0);
        assert_eq!(
            meta.user_agent.unwrap().len(),
            crate::session::MAX_USER_AGENT_BYTES
        );
        h.insert(USER_AGENT, HeaderValue::from_bytes(b"caf\xe9").unwrap());
        assert_eq!(
            request_meta(&h, &Extensions::new(), 0).user_agent.unwrap(),
            "caf\u{fffd}"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_forwarded_headers_never_panic(value in "\\PC{0,120}", hops in 0u8..=10) {
            if let Ok(v) = HeaderValue::from_str(&value) {
                let mut h = HeaderMap::new();
                h.insert(X_FORWARDED_FOR, v);
                let _ = client_ip(&h, &ext("10.0.0.1:1"), hops);
            }
        }
    }
}
