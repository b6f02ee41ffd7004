//! [`PwnedPasswordsClient`]: the HTTP client of the Pwned Passwords range API behind
//! `SIGRA_PASSWORD_BREACH_CHECK` (cargo feature `breach-check`).
//!
//! One check is one `GET {base}/range/{prefix}` over a fresh connection (HTTP/1.1, TLS through
//! rustls with the `ring` provider and the webpki roots for `https://`), with the
//! `Add-Padding: true` header so every answer has about the same size whatever the prefix.
//! The whole exchange (DNS, connect, TLS, answer) is bounded by one timeout. Only the 5-hex
//! prefix leaves the process: the client refuses any other argument. The answer's
//! `SUFFIX:COUNT` lines are parsed by [`parse_range`], which drops padding entries (count 0).

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;

use super::breach::{BreachClientError, PwnedPasswordsRange};

/// The public Pwned Passwords service (the default of `SIGRA_PASSWORD_BREACH_CHECK_URL`).
///
/// ```
/// assert_eq!(sigra_core::password::PWNED_PASSWORDS_URL, "https://api.pwnedpasswords.com");
/// ```
pub const PWNED_PASSWORDS_URL: &str = "https://api.pwnedpasswords.com";

/// The largest answer read, in bytes. A padded answer is 800 to 1,000 lines of 40 bytes or
/// so; anything far larger is not a range answer.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Why a range request failed. None of the messages contain a password or a hash beyond the
/// 5-character prefix that is sent anyway. Converts into
/// [`PasswordError::BreachCheckFailed`](super::PasswordError::BreachCheckFailed) and into the
/// crate-level [`Error`](crate::Error).
///
/// ```
/// use sigra_core::password::{PasswordError, PwnedClientError};
///
/// let err = PasswordError::from(PwnedClientError::Status(503));
/// assert!(matches!(err, PasswordError::BreachCheckFailed(_)));
/// assert_eq!(
///     err.to_string(),
///     "the breached-password check could not be completed: the breach-check service answered HTTP 503"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PwnedClientError {
    /// The configured base URL is not usable.
    #[error("the breach-check URL {url:?} is not usable: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The client was asked for something other than 5 hex characters.
    #[error("a range prefix is exactly 5 hex characters")]
    InvalidPrefix,
    /// No complete answer within the timeout.
    #[error("the breach-check service did not answer within {}ms", timeout.as_millis())]
    Timeout {
        /// The configured timeout.
        timeout: Duration,
    },
    /// The TCP connection could not be made (DNS, refused, unreachable).
    #[error("could not connect to the breach-check service at {host}: {source}")]
    Connect {
        /// The service's host and port.
        host: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS handshake or the HTTP exchange failed.
    #[error("the exchange with the breach-check service failed: {0}")]
    Exchange(#[source] BreachClientError),
    /// The service answered with a status other than 200.
    #[error("the breach-check service answered HTTP {0}")]
    Status(u16),
    /// The answer is too large or not UTF-8.
    #[error("the breach-check service's answer cannot be read: {0}")]
    Body(&'static str),
    /// A line of the answer is not `SUFFIX:COUNT` (35 hex characters, a colon, a number).
    #[error("line {line} of the breach-check service's answer is not SUFFIX:COUNT")]
    Malformed {
        /// The line number, from 1.
        line: usize,
    },
}

impl From<PwnedClientError> for super::PasswordError {
    fn from(err: PwnedClientError) -> Self {
        Self::BreachCheckFailed(Box::new(err))
    }
}

impl From<PwnedClientError> for crate::Error {
    fn from(err: PwnedClientError) -> Self {
        Self::Password(err.into())
    }
}

/// Parses a range answer: one `SUFFIX:COUNT` per line (CRLF or LF), `SUFFIX` being 35 hex
/// characters. Entries with a count of 0 are padding (`Add-Padding: true`) and are dropped;
/// blank lines are skipped. Any other line is an error, so a broken answer is never read as
/// "not breached".
///
/// ```
/// use sigra_core::password::parse_range;
///
/// let body = "0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n\
///             00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n";
/// assert_eq!(parse_range(body)?, vec![("0018A45C4D1DEF81644B54AB7F969B88D65".to_owned(), 1)]);
/// assert!(parse_range("<html>busy</html>").is_err());
/// # Ok::<(), sigra_core::password::PwnedClientError>(())
/// ```
pub fn parse_range(body: &str) -> Result<Vec<(String, u64)>, PwnedClientError> {
    let mut entries = Vec::new();
    for (index, line) in body.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let malformed = PwnedClientError::Malformed { line: index + 1 };
        let Some((suffix, count)) = line.split_once(':') else {
            return Err(malformed);
        };
        let count = count.trim();
        if suffix.len() != 35
            || !suffix.bytes().all(|b| b.is_ascii_hexdigit())
            || count.is_empty()
            || !count.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(malformed);
        }
        let Ok(count) = count.parse::<u64>() else {
            return Err(malformed);
        };
        if count > 0 {
            entries.push((suffix.to_owned(), count));
        }
    }
    Ok(entries)
}

/// Where the service is: scheme, host, port and path prefix of the base URL.
#[derive(Debug, Clone)]
struct Endpoint {
    tls: bool,
    /// The host as written in the URL (brackets kept for IPv6), for the `Host` header.
    authority: String,
    /// The host without brackets, for DNS and the TLS server name.
    host: String,
    port: u16,
    /// The base path without its trailing `/` (empty for the root).
    path: String,
}

impl Endpoint {
    fn parse(url: &str) -> Result<Self, PwnedClientError> {
        let invalid = |reason| PwnedClientError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let uri: hyper::Uri = url
            .parse()
            .map_err(|_| invalid("it is not a URL such as https://api.pwnedpasswords.com"))?;
        let tls = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(invalid("the scheme must be https:// or http://")),
        };
        let authority = uri.authority().ok_or_else(|| invalid("it has no host"))?;
        if authority.as_str().contains('@') {
            return Err(invalid("it must not carry credentials"));
        }
        if uri.query().is_some() || url.contains('#') {
            return Err(invalid("it must not have a query or a fragment"));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(invalid("it has no host"));
        }
        let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
        Ok(Self {
            tls,
            authority: authority.as_str().to_owned(),
            host: host.to_owned(),
            port,
            path: uri.path().trim_end_matches('/').to_owned(),
        })
    }
}

/// An HTTP client of the Pwned Passwords range API (`GET {base}/range/{prefix}` with
/// `Add-Padding: true`), for [`check_not_breached`](super::check_not_breached). Cheap to
/// share: it holds its TLS configuration and opens one connection per request.
///
/// [`Sigra`](crate::auth::Sigra) builds one from `SIGRA_PASSWORD_BREACH_CHECK_URL` and
/// `SIGRA_PASSWORD_BREACH_CHECK_TIMEOUT` when `SIGRA_PASSWORD_BREACH_CHECK=true`; build one
/// yourself to check passwords elsewhere.
///
/// ```
/// use std::time::Duration;
/// use sigra_core::password::{PwnedPasswordsClient, PWNED_PASSWORDS_URL};
///
/// let client = PwnedPasswordsClient::new(PWNED_PASSWORDS_URL, Duration::from_secs(2))?;
/// assert_eq!(client.timeout(), Duration::from_secs(2));
/// assert!(PwnedPasswordsClient::new("ftp://example.com", Duration::from_secs(2)).is_err());
/// # Ok::<(), sigra_core::password::PwnedClientError>(())
/// ```
///
/// Checking a password (this asks the real service):
///
/// ```no_run
/// # use std::time::Duration;
/// use sigra_core::password::{check_not_breached, Password, PwnedPasswordsClient, PWNED_PASSWORDS_URL};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let client = PwnedPasswordsClient::new(PWNED_PASSWORDS_URL, Duration::from_secs(2))?;
/// check_not_breached(&client, &Password::from("correct horse battery staple")).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PwnedPasswordsClient {
    endpoint: Endpoint,
    timeout: Duration,
    tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for PwnedPasswordsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PwnedPasswordsClient")
            .field("authority", &self.endpoint.authority)
            .field("tls", &self.endpoint.tls)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl PwnedPasswordsClient {
    /// A client of the service at `base_url` (`https://` or `http://`, with an optional path;
    /// `/range/{prefix}` is appended), giving up after `timeout`.
    ///
    /// Errors: [`PwnedClientError::InvalidUrl`]; [`PwnedClientError::Exchange`] when the TLS
    /// configuration cannot be built.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sigra_core::password::PwnedPasswordsClient;
    ///
    /// let mirror = PwnedPasswordsClient::new("http://127.0.0.1:8080/hibp/", Duration::from_secs(1))?;
    /// # Ok::<(), sigra_core::password::PwnedClientError>(())
    /// ```
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, PwnedClientError> {
        let endpoint = Endpoint::parse(base_url)?;
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| PwnedClientError::Exchange(Box::new(e)))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            endpoint,
            timeout,
            tls: Arc::new(tls),
        })
    }

    /// The timeout of one request.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # let client = sigra_core::password::PwnedPasswordsClient::new("https://example.com", Duration::from_secs(3))?;
    /// assert_eq!(client.timeout(), Duration::from_secs(3));
    /// # Ok::<(), sigra_core::password::PwnedClientError>(())
    /// ```
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The entries under `prefix` (5 hex characters), padding dropped.
    ///
    /// Errors: every [`PwnedClientError`] but `InvalidUrl`.
    ///
    /// ```no_run
    /// # use std::time::Duration;
    /// # use sigra_core::password::{PwnedPasswordsClient, PWNED_PASSWORDS_URL};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), sigra_core::password::PwnedClientError> {
    /// let client = PwnedPasswordsClient::new(PWNED_PASSWORDS_URL, Duration::from_secs(2))?;
    /// let entries = client.fetch_range("5BAA6").await?;
    /// assert!(entries.iter().any(|(suffix, _)| suffix == "1E4C9B93F3F0682250B6CF8331B7EE68FD8"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch_range(&self, prefix: &str) -> Result<Vec<(String, u64)>, PwnedClientError> {
        if prefix.len() != 5 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PwnedClientError::InvalidPrefix);
        }
        let body = tokio::time::timeout(self.timeout, self.exchange(prefix))
            .await
            .map_err(|_| PwnedClientError::Timeout {
                timeout: self.timeout,
            })??;
        parse_range(&body)
    }

    /// Connects, sends the request and reads the whole answer.
    async fn exchange(&self, prefix: &str) -> Result<String, PwnedClientError> {
        let e = &self.endpoint;
        let tcp = tokio::net::TcpStream::connect((e.host.as_str(), e.port))
            .await
            .map_err(|source| PwnedClientError::Connect {
                host: format!("{}:{}", e.host, e.port),
                source,
            })?;
        // Best effort: a small request goes out at once.
        let _ = tcp.set_nodelay(true);
        if e.tls {
            let name = ServerName::try_from(e.host.clone())
                .map_err(|err| PwnedClientError::Exchange(Box::new(err)))?;
            let stream = tokio_rustls::TlsConnector::from(Arc::clone(&self.tls))
                .connect(name, tcp)
                .await
                .map_err(|err| PwnedClientError::Exchange(Box::new(err)))?;
            self.request(TokioIo::new(stream), prefix).await
        } else {
            self.request(TokioIo::new(tcp), prefix).await
        }
    }

    async fn request<T>(&self, io: T, prefix: &str) -> Result<String, PwnedClientError>
    where
        T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let exchange = |err: hyper::Error| PwnedClientError::Exchange(Box::new(err));
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(exchange)?;
        // The connection is driven by its own task, stopped when this request ends (answered,
        // failed or cancelled by the timeout).
        let driver = AbortOnDrop(tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(target: "sigra::password", error = %err, "breach-check connection ended with an error");
            }
        }));
        let request = hyper::Request::get(format!("{}/range/{prefix}", self.endpoint.path))
            .header(hyper::header::HOST, &self.endpoint.authority)
            .header("Add-Padding", "true")
            .header(
                hyper::header::USER_AGENT,
                concat!("sigra/", env!("CARGO_PKG_VERSION")),
            )
            .header(hyper::header::ACCEPT, "text/plain")
            .header(hyper::header::CONNECTION, "close")
            .body(Empty::<Bytes>::new())
            .map_err(|err| PwnedClientError::Exchange(Box::new(err)))?;
        let response = sender.send_request(request).await.map_err(exchange)?;
        let status = response.status();
        if status != hyper::StatusCode::OK {
            return Err(PwnedClientError::Status(status.as_u16()));
        }
        let body = Limited::new(response.into_body(), MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|err| {
                if err.is::<http_body_util::LengthLimitError>() {
                    PwnedClientError::Body("it is larger than 1 MiB")
                } else {
                    PwnedClientError::Exchange(err)
                }
            })?
            .to_bytes();
        drop(driver);
        String::from_utf8(body.to_vec()).map_err(|_| PwnedClientError::Body("it is not UTF-8"))
    }
}

impl PwnedPasswordsRange for PwnedPasswordsClient {
    async fn range(&self, prefix: &str) -> Result<Vec<(String, u64)>, BreachClientError> {
        Ok(self.fetch_range(prefix).await?)
    }
}

/// Aborts the connection task when the request is over or cancelled.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_drops_padding() {
        let body = "\r\n0018A45C4D1DEF81644B54AB7F969B88D65:10\r\n\
                    00d4f6e8fa6eecad2a3aa415eec418d38ec:0\n\
                    011053FD0102E94D6AE2F8B83D76FAF94F6:3";
        assert_eq!(
            parse_range(body).unwrap_or_default(),
            vec![
                ("0018A45C4D1DEF81644B54AB7F969B88D65".to_owned(), 10),
                ("011053FD0102E94D6AE2F8B83D76FAF94F6".to_owned(), 3)
            ]
        );
        assert!(parse_range("").is_ok_and(|e| e.is_empty()));
        for bad in [
            "0018A45C4D1DEF81644B54AB7F969B88D65",
            "0018A45C4D1DEF81644B54AB7F969B88D6:1",
            "0018A45C4D1DEF81644B54AB7F969B88D65:",
            "0018A45C4D1DEF81644B54AB7F969B88D65:-1",
            "0018A45C4D1DEF81644B54AB7F969B88D65:99999999999999999999999",
            "XX18A45C4D1DEF81644B54AB7F969B88D65:1",
            "<html><body>502 Bad Gateway</body></html>",
        ] {
            assert!(
                matches!(
                    parse_range(bad),
                    Err(PwnedClientError::Malformed { line: 1 })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn endpoints_parse() {
        let e = Endpoint::parse("https://api.pwnedpasswords.com").ok();
        let e = e.as_ref();
        assert_eq!(
            e.map(|e| (e.tls, e.port, e.path.as_str())),
            Some((true, 443, ""))
        );
        let e = Endpoint::parse("http://[::1]:8080/mirror/").ok();
        let e = e.as_ref();
        assert_eq!(
            e.map(|e| (
                e.tls,
                e.host.as_str(),
                e.authority.as_str(),
                e.port,
                e.path.as_str()
            )),
            Some((false, "::1", "[::1]:8080", 8080, "/mirror"))
        );
        for bad in [
            "api.pwnedpasswords.com",
            "ftp://example.com",
            "https://user:pw@example.com",
            "https://example.com/?q=1",
            "https://example.com/#x",
            "",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }
}
