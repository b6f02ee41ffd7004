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

use axum::extract::ConnectInfo;
use axum::http::header::USER_AGENT;
use axum::http::{Extensions, HeaderMap, HeaderName};

use crate::audit::RequestMeta;

/// The environment variable naming how many reverse proxies to trust (`0`/`false` none,
/// `1`/`true` one, or a number up to 10).
pub const TRUST_PROXY_ENV: &str = "SIGRA_TRUST_PROXY";

/// The most proxy hops that can be trusted.
const MAX_HOPS: u8 = 10;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The request's resolved client, inserted by the layers so every extractor agrees.
#[derive(Clone, Debug)]
pub(crate) struct ClientInfo(pub(crate) RequestMeta);

/// Reads [`TRUST_PROXY_ENV`]: a missing or unreadable value trusts no proxy (and logs why).
pub(crate) fn proxy_hops_from_env() -> u8 {
    match std::env::var(TRUST_PROXY_ENV) {
        Ok(value) => parse_hops(&value).unwrap_or_else(|| {
            tracing::warn!(target: "sigra::web", value = %value, "{TRUST_PROXY_ENV} is not true, false or a number of hops up to {MAX_HOPS}; trusting no proxy");
            0
        }),
        Err(_) => 0,
    }
}

/// Parses a trust-proxy setting: `true`/`1` → 1, `false`/`0`/empty → 0, `N` → N (≤ 10).
pub(crate) fn parse_hops(value: &str) -> Option<u8> {
    let value = value.trim();
    if value.is_empty() || value.eq_ignore_ascii_case("false") {
        return Some(0);
    }
    if value.eq_ignore_ascii_case("true") {
        return Some(1);
    }
    value.parse::<u8>().ok().filter(|n| *n <= MAX_HOPS)
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
    fn hop_settings_parse() {
        assert_eq!(parse_hops("true"), Some(1));
        assert_eq!(parse_hops("TRUE"), Some(1));
        assert_eq!(parse_hops("false"), Some(0));
        assert_eq!(parse_hops(""), Some(0));
        assert_eq!(parse_hops("2"), Some(2));
        assert_eq!(parse_hops("11"), None);
        assert_eq!(parse_hops("yes"), None);
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
