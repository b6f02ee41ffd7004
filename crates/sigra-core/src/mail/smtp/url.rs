//! `SMTP_URL` parsing, following lettre's `from_url` conventions but stricter: unknown
//! parameters are refused (a typo must not fall back to plaintext), and no error ever repeats
//! a part of the URL that could hold the password.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

use percent_encoding::percent_decode_str;
use secrecy::SecretString;

use super::super::MailError;
use super::super::address::breaks_header;

/// How the connection to the SMTP server is protected.
///
/// | `SMTP_URL` | security | default port |
/// |---|---|---|
/// | `smtps://host` | [`ImplicitTls`](Self::ImplicitTls) | 465 |
/// | `smtp://host?tls=required` | [`StartTlsRequired`](Self::StartTlsRequired) | 587 |
/// | `smtp://host?tls=opportunistic` | [`StartTlsOpportunistic`](Self::StartTlsOpportunistic) | 587 |
/// | `smtp://host` | [`Plain`](Self::Plain) | 25 |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmtpSecurity {
    /// TLS from the first byte (`smtps://`, port 465). Recommended.
    ImplicitTls,
    /// Plain connection upgraded with STARTTLS; fails if the server does not offer it.
    StartTlsRequired,
    /// STARTTLS if the server offers it, else plaintext. An attacker on the path can strip
    /// the offer, so credentials are never sent over it to a non-loopback server.
    StartTlsOpportunistic,
    /// No encryption: for a relay on the same host or a local test server.
    Plain,
}

impl SmtpSecurity {
    /// Whether the connection is encrypted for sure (credentials may be sent).
    pub fn is_encrypted(self) -> bool {
        matches!(self, Self::ImplicitTls | Self::StartTlsRequired)
    }
}

impl fmt::Display for SmtpSecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ImplicitTls => "implicit TLS",
            Self::StartTlsRequired => "STARTTLS (required)",
            Self::StartTlsOpportunistic => "STARTTLS (opportunistic)",
            Self::Plain => "plaintext",
        })
    }
}

/// A parsed `SMTP_URL`.
pub(crate) struct SmtpUrl {
    pub(crate) security: SmtpSecurity,
    /// Without IPv6 brackets.
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) credentials: Option<(String, SecretString)>,
    pub(crate) hello_name: Option<String>,
}

impl SmtpUrl {
    /// `host:port` (IPv6 in brackets): how errors and logs name the server.
    pub(crate) fn server(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Whether the host is this machine (`localhost`, `*.localhost`, 127.0.0.0/8, `::1`).
    pub(crate) fn is_loopback(&self) -> bool {
        let host = self.host.to_ascii_lowercase();
        host == "localhost"
            || host.ends_with(".localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// Appended to errors past the user-info part: a password with reserved characters is the
/// usual cause.
const ENCODE_HINT: &str =
    " (if the user name or password holds @ / ? # : or %, percent-encode it, e.g. @ as %40)";

fn invalid(reason: impl Into<String>) -> MailError {
    MailError::InvalidSmtpUrl {
        reason: reason.into(),
    }
}

/// Parses an `SMTP_URL`. Errors never quote anything after the scheme.
pub(crate) fn parse(url: &str) -> Result<SmtpUrl, MailError> {
    let url = url.trim();
    if url.is_empty() {
        return Err(invalid(
            "it is empty; unset the variable to use the dev mailbox, or give e.g. smtps://user:pass@smtp.example.com",
        ));
    }
    if breaks_header(url) || url.chars().any(char::is_whitespace) {
        return Err(invalid("it holds whitespace or control characters"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(invalid(
            "it must start with smtp:// or smtps://, e.g. smtps://user:pass@smtp.example.com",
        ));
    };
    let implicit_tls = match scheme.to_ascii_lowercase().as_str() {
        "smtp" => false,
        "smtps" => true,
        other if other.len() <= 16 && other.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            return Err(invalid(format!(
                "unknown scheme `{other}`; use smtp:// (plaintext or STARTTLS) or smtps:// (implicit TLS)"
            )));
        }
        _ => {
            return Err(invalid(
                "it must start with smtp:// or smtps://, e.g. smtps://user:pass@smtp.example.com",
            ));
        }
    };
    let hint = if rest.contains('@') { ENCODE_HINT } else { "" };

    if rest.contains('#') {
        return Err(invalid(format!("a #fragment is not allowed{hint}")));
    }
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, p),
        None => (before_query, ""),
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };

    let credentials = match userinfo {
        None => None,
        Some(info) => {
            let (user, pass) = match info.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (info, None),
            };
            let decode = |s: &str| {
                percent_decode_str(s)
                    .decode_utf8()
                    .map(|c| c.into_owned())
                    .map_err(|_| {
                        invalid("the user name or password is not valid percent-encoded UTF-8")
                    })
            };
            let user = decode(user)?;
            match pass {
                None if user.is_empty() => None,
                None => {
                    return Err(invalid(
                        "a user name is given without a password; write smtp://user:password@host",
                    ));
                }
                Some(pass) => {
                    if user.is_empty() {
                        return Err(invalid(
                            "a password is given without a user name; write smtp://user:password@host",
                        ));
                    }
                    Some((user, SecretString::from(decode(pass)?)))
                }
            }
        }
    };

    let (host, port) = split_host_port(hostport, hint)?;

    let mut tls = None;
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        match pair.split_once('=') {
            Some(("tls", value)) if tls.is_none() => tls = Some(value),
            Some(("tls", _)) => return Err(invalid("the tls parameter is given twice")),
            _ => {
                return Err(invalid(format!(
                    "unknown query parameter; only tls=required or tls=opportunistic is understood{hint}"
                )));
            }
        }
    }
    let security = match (implicit_tls, tls) {
        (true, None) => SmtpSecurity::ImplicitTls,
        (true, Some(_)) => {
            return Err(invalid(
                "smtps:// always uses TLS from the start; drop the tls parameter",
            ));
        }
        (false, None) => SmtpSecurity::Plain,
        (false, Some("required")) => SmtpSecurity::StartTlsRequired,
        (false, Some("opportunistic")) => SmtpSecurity::StartTlsOpportunistic,
        (false, Some(_)) => {
            return Err(invalid(format!(
                "the tls parameter must be `required` or `opportunistic`{hint}"
            )));
        }
    };
    let port = port.unwrap_or(match security {
        SmtpSecurity::ImplicitTls => 465,
        SmtpSecurity::StartTlsRequired | SmtpSecurity::StartTlsOpportunistic => 587,
        SmtpSecurity::Plain => 25,
    });

    let hello_name = path.trim_matches('/');
    let hello_name = if hello_name.is_empty() {
        None
    } else if is_host_name(hello_name) {
        Some(hello_name.to_owned())
    } else {
        return Err(invalid(format!(
            "the path (the EHLO name) must be a host name{hint}"
        )));
    };

    Ok(SmtpUrl {
        security,
        host,
        port,
        credentials,
        hello_name,
    })
}

fn split_host_port(hostport: &str, hint: &str) -> Result<(String, Option<u16>), MailError> {
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let Some((ip, after)) = v6.split_once(']') else {
            return Err(invalid(format!(
                "an IPv6 address lacks its closing ]{hint}"
            )));
        };
        if ip.parse::<Ipv6Addr>().is_err() {
            return Err(invalid(format!(
                "the bracketed host is not an IPv6 address{hint}"
            )));
        }
        let port =
            match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| {
                    invalid(format!("unexpected text after the IPv6 address{hint}"))
                })?),
            };
        (ip.to_owned(), port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (hostport.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(invalid(format!("the host is missing{hint}")));
    }
    if !host.contains(':') && !is_host_name(&host) {
        return Err(invalid(format!(
            "the host must be a host name (letters, digits, '.', '-', '_'; the ASCII form of an internationalised name) or an IP address{hint}"
        )));
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                return Err(invalid(format!(
                    "the port is not a number from 1 to 65535{hint}"
                )));
            }
        },
    };
    Ok((host.to_ascii_lowercase(), port))
}

fn is_host_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn reason(url: &str) -> String {
        match parse(url) {
            Err(MailError::InvalidSmtpUrl { reason }) => reason,
            Err(other) => panic!("{url}: unexpected {other:?}"),
            Ok(_) => panic!("{url}: accepted"),
        }
    }

    #[test]
    fn follows_lettre_conventions() {
        let cases = [
            ("smtp://localhost", SmtpSecurity::Plain, "localhost", 25),
            (
                "smtp://127.0.0.1:2525",
                SmtpSecurity::Plain,
                "127.0.0.1",
                2525,
            ),
            (
                "smtp://mail.example.com?tls=required",
                SmtpSecurity::StartTlsRequired,
                "mail.example.com",
                587,
            ),
            (
                "smtp://mail.example.com:2587?tls=opportunistic",
                SmtpSecurity::StartTlsOpportunistic,
                "mail.example.com",
                2587,
            ),
            (
                "smtps://Mail.Example.com",
                SmtpSecurity::ImplicitTls,
                "mail.example.com",
                465,
            ),
            ("SMTPS://[::1]:4650", SmtpSecurity::ImplicitTls, "::1", 4650),
            ("smtp://mail_relay", SmtpSecurity::Plain, "mail_relay", 25),
        ];
        for (url, security, host, port) in cases {
            let u = parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(
                (u.security, u.host.as_str(), u.port),
                (security, host, port),
                "{url}"
            );
            assert!(u.credentials.is_none());
        }
    }

    #[test]
    fn decodes_credentials_and_hello_name() {
        let u =
            parse("smtp://apikey:p%40ss%3Aw%2Frd@smtp.example.com:587/app.example?tls=required")
                .unwrap();
        let (user, pass) = u.credentials.as_ref().unwrap();
        assert_eq!(user, "apikey");
        assert_eq!(pass.expose_secret(), "p@ss:w/rd");
        assert_eq!(u.hello_name.as_deref(), Some("app.example"));
        assert_eq!(u.server(), "smtp.example.com:587");
        // A raw @ in the password works too: the last @ ends the user info.
        let u = parse("smtps://user:p@ss@smtp.example.com").unwrap();
        assert_eq!(u.credentials.unwrap().1.expose_secret(), "p@ss");
        // An empty user info is no credentials.
        assert!(parse("smtp://@localhost").unwrap().credentials.is_none());
        // Surrounding whitespace (a trailing newline from a secrets file) is ignored.
        assert_eq!(parse(" smtp://localhost:1025\n").unwrap().port, 1025);
        assert_eq!(parse("smtp://[::1]:25").unwrap().server(), "[::1]:25");
    }

    #[test]
    fn refuses_with_clear_reasons_that_never_quote_the_password() {
        let cases = [
            ("", "empty"),
            ("localhost:25", "must start with smtp://"),
            ("user:hunter2@host", "must start with smtp://"),
            ("http://host", "unknown scheme `http`"),
            ("smtp://", "host is missing"),
            ("smtp://user:hunter2@", "host is missing"),
            ("smtp://host:0", "port"),
            ("smtp://host:99999", "port"),
            ("smtp://host:+25", "port"),
            ("smtp://host:", "port"),
            ("smtp://user:hunter2/x@host", "port"),
            ("smtp://user:hunter2?x@host", "port"),
            (
                "smtp://h?tls=require",
                "must be `required` or `opportunistic`",
            ),
            ("smtp://h?tls=required&tls=required", "twice"),
            ("smtp://h?ssl=true", "unknown query parameter"),
            (
                "smtp://u:hunter2@h?tls=required&hunter2",
                "unknown query parameter",
            ),
            ("smtps://h?tls=required", "drop the tls parameter"),
            ("smtp://h#frag", "fragment"),
            ("smtp://user@host", "without a password"),
            ("smtp://:hunter2@host", "without a user name"),
            ("smtp://u:%ff@host", "percent-encoded"),
            ("smtp://ex ample.com", "whitespace"),
            ("smtp://ho\rst", "whitespace or control"),
            ("smtp://bücher.example", "host must be a host name"),
            ("smtp://[::1", "closing ]"),
            ("smtp://[nope]", "not an IPv6"),
            ("smtp://[::1]x", "after the IPv6"),
            ("smtp://host/bad%20name", "EHLO name"),
        ];
        for (url, want) in cases {
            let r = reason(url);
            assert!(r.contains(want), "{url:?}: {r}");
            assert!(!r.contains("hunter2"), "{url:?} leaked: {r}");
        }
        assert!(reason("smtp://user:hunter2/x@host").contains("percent-encode"));
        assert!(!reason("smtp://host:0").contains("percent-encode"));
        let long_scheme = format!("{}://h", "x".repeat(40));
        assert!(!reason(&long_scheme).contains("xxxx"));
    }

    #[test]
    fn loopback_detection() {
        for (url, loopback) in [
            ("smtp://localhost", true),
            ("smtp://mail.localhost", true),
            ("smtp://127.0.0.1", true),
            ("smtp://127.8.9.10", true),
            ("smtp://[::1]", true),
            ("smtp://10.0.0.1", false),
            ("smtp://mailpit", false),
            ("smtp://localhost.example.com", false),
        ] {
            assert_eq!(parse(url).unwrap().is_loopback(), loopback, "{url}");
        }
    }
}
