//! The embedded list of common passwords.
//!
//! `data/common-passwords.txt` holds the 30,000 passwords of the zxcvbn project's "passwords"
//! frequency list (see `data/README.md` for its source and licence), one a line, lowercase.
//! It is compiled into the binary with `include_str!` and sorted once, on first use, into a
//! slice that is searched by binary search: no allocation per lookup beyond lowercasing the
//! candidate, and no file to ship beside the app.

use std::sync::OnceLock;

static LIST: &str = include_str!("../../data/common-passwords.txt");

fn sorted() -> &'static [&'static str] {
    static SORTED: OnceLock<Vec<&'static str>> = OnceLock::new();
    SORTED.get_or_init(|| {
        let mut entries: Vec<&'static str> = LIST
            .lines()
            .map(str::trim_end)
            .filter(|line| !line.is_empty())
            .collect();
        entries.sort_unstable();
        entries.dedup();
        entries
    })
}

/// Whether `password` is on the embedded common-password list, compared case-insensitively
/// (Unicode lowercase). The whole password must match an entry; a common word inside a longer
/// passphrase is fine.
///
/// ```
/// use sigra_core::password::is_common_password;
/// assert!(is_common_password("password1"));
/// assert!(is_common_password("PassWord1"));
/// assert!(!is_common_password("correct horse battery staple"));
/// ```
pub fn is_common_password(password: &str) -> bool {
    let lower = zeroize::Zeroizing::new(password.to_lowercase());
    sorted().binary_search(&lower.as_str()).is_ok()
}

/// How many distinct entries the embedded common-password list has.
///
/// ```
/// assert!(sigra_core::password::common_password_count() >= 10_000);
/// ```
pub fn common_password_count() -> usize {
    sorted().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_lowercase_and_large() {
        assert!(common_password_count() >= 10_000);
        assert!(
            sorted()
                .iter()
                .all(|e| e.to_lowercase() == *e && !e.is_empty())
        );
    }

    #[test]
    fn first_and_last_entries_are_found() {
        let first = LIST.lines().next().unwrap();
        let last = LIST.lines().last().unwrap();
        assert!(is_common_password(first));
        assert!(is_common_password(last));
        assert!(is_common_password(&first.to_uppercase()));
    }
}
