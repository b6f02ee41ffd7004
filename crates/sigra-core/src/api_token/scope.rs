//! Scopes: `resource:action` permissions with wildcards.

use super::ApiTokenError;

/// The most scopes one [`ScopeSet`] holds.
///
/// ```
/// assert_eq!(sigra_core::api_token::MAX_SCOPES, 256);
/// ```
pub const MAX_SCOPES: usize = 256;

/// The longest resource or action name.
const MAX_SEGMENT_LEN: usize = 64;

/// One permission, `resource:action`.
///
/// Grammar:
///
/// ```text
/// scope    = "*" | segment ":" segment
/// segment  = "*" | name
/// name     = lower *( lower | digit | "_" )      ; at most 64 characters
/// lower    = "a".."z"
/// ```
///
/// So `projects:read`, `org_members:invite`, `projects:*` (every action on projects),
/// `*:read` (read anything) and `*` (everything; `*:*` means the same and is written `*`).
/// Partial wildcards (`proj*`), uppercase, spaces and empty segments are refused.
///
/// A granted scope *covers* a required one when each segment is `*` or equal. A required scope
/// may itself contain `*` ("all actions on projects"); only a `*` covers a `*`.
///
/// ```
/// use sigra_core::api_token::Scope;
/// let granted: Scope = "projects:*".parse()?;
/// assert!(granted.allows(&"projects:delete".parse()?));
/// assert!(!granted.allows(&"billing:read".parse()?));
/// assert_eq!(granted.to_string(), "projects:*");
/// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    /// `None` is the `*` wildcard.
    resource: Option<String>,
    /// `None` is the `*` wildcard.
    action: Option<String>,
}

impl Scope {
    /// Parses one scope (see the grammar above).
    ///
    /// ```
    /// use sigra_core::api_token::Scope;
    /// assert!(Scope::parse("projects:read").is_ok());
    /// assert!(Scope::parse("Projects:read").is_err());
    /// assert!(Scope::parse("projects").is_err());
    /// ```
    pub fn parse(scope: &str) -> Result<Self, ApiTokenError> {
        let invalid = |reason| ApiTokenError::InvalidScope {
            scope: super::shown(scope),
            reason,
        };
        if scope.is_empty() {
            return Err(invalid("a scope cannot be empty"));
        }
        if scope == "*" {
            return Ok(Self::all());
        }
        let Some((resource, action)) = scope.split_once(':') else {
            return Err(invalid(
                "a scope is `resource:action` (or `*` for everything)",
            ));
        };
        if action.contains(':') {
            return Err(invalid("a scope has exactly one `:`"));
        }
        Ok(Self {
            resource: segment(resource).map_err(invalid)?,
            action: segment(action).map_err(invalid)?,
        })
    }

    /// The scope that covers everything, `*`.
    ///
    /// ```
    /// use sigra_core::api_token::Scope;
    /// assert!(Scope::all().allows(&Scope::parse("anything:at_all")?));
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn all() -> Self {
        Self {
            resource: None,
            action: None,
        }
    }

    /// The resource, or `None` for `*`.
    ///
    /// ```
    /// use sigra_core::api_token::Scope;
    /// assert_eq!(Scope::parse("projects:read")?.resource(), Some("projects"));
    /// assert_eq!(Scope::parse("*:read")?.resource(), None);
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The action, or `None` for `*`.
    ///
    /// ```
    /// use sigra_core::api_token::Scope;
    /// assert_eq!(Scope::parse("projects:read")?.action(), Some("read"));
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn action(&self) -> Option<&str> {
        self.action.as_deref()
    }

    /// Whether this (granted) scope covers `required`: each segment is `*` or equal.
    ///
    /// ```
    /// use sigra_core::api_token::Scope;
    /// let read_all = Scope::parse("*:read")?;
    /// assert!(read_all.allows(&Scope::parse("billing:read")?));
    /// assert!(!read_all.allows(&Scope::parse("billing:write")?));
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn allows(&self, required: &Scope) -> bool {
        covers(self.resource.as_deref(), required.resource.as_deref())
            && covers(self.action.as_deref(), required.action.as_deref())
    }

    /// [`allows`](Self::allows), plus: with `write_implies_read`, a granted `…:write` also
    /// covers the same resource's `…:read`.
    fn allows_with(&self, required: &Scope, write_implies_read: bool) -> bool {
        self.allows(required)
            || (write_implies_read
                && self.action.as_deref() == Some("write")
                && required.action.as_deref() == Some("read")
                && covers(self.resource.as_deref(), required.resource.as_deref()))
    }
}

/// Whether a granted segment covers a required one (`None` is `*`).
fn covers(granted: Option<&str>, required: Option<&str>) -> bool {
    match (granted, required) {
        (None, _) => true,
        (Some(g), Some(r)) => g == r,
        (Some(_), None) => false,
    }
}

fn segment(s: &str) -> Result<Option<String>, &'static str> {
    if s == "*" {
        return Ok(None);
    }
    if s.is_empty() {
        return Err("the resource and the action cannot be empty");
    }
    if s.contains('*') {
        return Err("`*` must stand alone as a whole resource or action (`projects:*`, `*:read`)");
    }
    if s.len() > MAX_SEGMENT_LEN {
        return Err("a resource or action is at most 64 characters");
    }
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("a resource or action starts with a lowercase letter");
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err("a resource or action contains only lowercase letters, digits and `_`");
    }
    Ok(Some(s.to_string()))
}

impl std::str::FromStr for Scope {
    type Err = ApiTokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.resource, &self.action) {
            (None, None) => f.write_str("*"),
            (resource, action) => write!(
                f,
                "{}:{}",
                resource.as_deref().unwrap_or("*"),
                action.as_deref().unwrap_or("*")
            ),
        }
    }
}

/// The scopes a token was granted (or an app allows), with an optional *write implies read*
/// rule.
///
/// `granted.allows(&required)` holds when some granted scope covers `required`; with
/// [`with_write_implies_read`](Self::with_write_implies_read), a granted `x:write` also covers
/// `x:read` (and `*:write` covers every `…:read`). An empty set allows nothing.
///
/// ```
/// use sigra_core::api_token::{Scope, ScopeSet};
/// let granted = ScopeSet::parse(["projects:write"])?.with_write_implies_read(true);
/// assert!(granted.allows(&Scope::parse("projects:read")?));
/// assert!(!ScopeSet::parse(["projects:write"])?.allows(&Scope::parse("projects:read")?));
/// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeSet {
    scopes: Vec<Scope>,
    write_implies_read: bool,
}

impl ScopeSet {
    /// The empty set: allows nothing.
    ///
    /// ```
    /// use sigra_core::api_token::{Scope, ScopeSet};
    /// assert!(!ScopeSet::new().allows(&Scope::parse("a:b")?));
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses each scope (at most [`MAX_SCOPES`]); duplicates are kept once, in first-seen
    /// order. The first invalid scope is the error.
    ///
    /// ```
    /// use sigra_core::api_token::ScopeSet;
    /// let set = ScopeSet::parse(["projects:read", "projects:read", "*:read"])?;
    /// assert_eq!(set.len(), 2);
    /// assert!(ScopeSet::parse(["projects:read", "oops"]).is_err());
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn parse<I, S>(scopes: I) -> Result<Self, ApiTokenError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = Self::new();
        for scope in scopes {
            set.insert(Scope::parse(scope.as_ref())?)?;
        }
        Ok(set)
    }

    /// Parses a space-separated list (the OAuth `scope` format; also a compact way to store
    /// scopes in one column). Runs of ASCII whitespace separate; an empty string is the
    /// empty set.
    ///
    /// ```
    /// use sigra_core::api_token::ScopeSet;
    /// let set = ScopeSet::parse_space_separated("projects:read  billing:*")?;
    /// assert_eq!(set.to_string(), "projects:read billing:*");
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn parse_space_separated(scopes: &str) -> Result<Self, ApiTokenError> {
        Self::parse(scopes.split_ascii_whitespace())
    }

    /// Adds a scope (ignored if already present).
    ///
    /// ```
    /// use sigra_core::api_token::{Scope, ScopeSet};
    /// let mut set = ScopeSet::new();
    /// set.insert(Scope::parse("projects:read")?)?;
    /// assert_eq!(set.len(), 1);
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn insert(&mut self, scope: Scope) -> Result<(), ApiTokenError> {
        if self.scopes.contains(&scope) {
            return Ok(());
        }
        if self.scopes.len() >= MAX_SCOPES {
            return Err(ApiTokenError::TooManyScopes { max: MAX_SCOPES });
        }
        self.scopes.push(scope);
        Ok(())
    }

    /// Turns the *write implies read* rule on or off (off by default).
    ///
    /// ```
    /// use sigra_core::api_token::ScopeSet;
    /// let set = ScopeSet::parse(["a:write"])?.with_write_implies_read(true);
    /// assert!(set.write_implies_read());
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn with_write_implies_read(mut self, on: bool) -> Self {
        self.write_implies_read = on;
        self
    }

    /// Whether the *write implies read* rule is on.
    ///
    /// ```
    /// assert!(!sigra_core::api_token::ScopeSet::new().write_implies_read());
    /// ```
    pub fn write_implies_read(&self) -> bool {
        self.write_implies_read
    }

    /// Whether some scope in the set covers `required`.
    ///
    /// ```
    /// use sigra_core::api_token::{Scope, ScopeSet};
    /// let granted = ScopeSet::parse(["projects:*", "*:read"])?;
    /// assert!(granted.allows(&Scope::parse("projects:delete")?));
    /// assert!(granted.allows(&Scope::parse("billing:read")?));
    /// assert!(!granted.allows(&Scope::parse("billing:write")?));
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn allows(&self, required: &Scope) -> bool {
        self.scopes
            .iter()
            .any(|granted| granted.allows_with(required, self.write_implies_read))
    }

    /// Parses `required` and checks it is allowed: [`ApiTokenError::ScopeDenied`] if not,
    /// [`ApiTokenError::InvalidScope`] if `required` itself is malformed (a bug in the caller).
    ///
    /// ```
    /// use sigra_core::api_token::{ApiTokenError, ScopeSet};
    /// let granted = ScopeSet::parse(["projects:read"])?;
    /// granted.require("projects:read")?;
    /// assert!(matches!(granted.require("projects:write"), Err(ApiTokenError::ScopeDenied { .. })));
    /// # Ok::<(), ApiTokenError>(())
    /// ```
    pub fn require(&self, required: &str) -> Result<(), ApiTokenError> {
        let scope = Scope::parse(required)?;
        if self.allows(&scope) {
            Ok(())
        } else {
            Err(ApiTokenError::ScopeDenied {
                required: scope.to_string(),
            })
        }
    }

    /// Checks every scope in this set is covered by `allowed` (say, the scopes the app
    /// offers, or those of the token granting a narrower one); the first that is not is
    /// [`ApiTokenError::ScopeNotAllowed`]. `allowed`'s *write implies read* rule applies.
    ///
    /// ```
    /// use sigra_core::api_token::ScopeSet;
    /// let offered = ScopeSet::parse(["projects:read", "projects:write"])?;
    /// assert!(ScopeSet::parse(["projects:read"])?.ensure_within(&offered).is_ok());
    /// assert!(ScopeSet::parse(["projects:*"])?.ensure_within(&offered).is_err());
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn ensure_within(&self, allowed: &ScopeSet) -> Result<(), ApiTokenError> {
        match self.scopes.iter().find(|scope| !allowed.allows(scope)) {
            Some(scope) => Err(ApiTokenError::ScopeNotAllowed {
                scope: scope.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// The scopes, in first-seen order.
    ///
    /// ```
    /// let set = sigra_core::api_token::ScopeSet::parse(["b:x", "a:y"])?;
    /// let names: Vec<String> = set.iter().map(ToString::to_string).collect();
    /// assert_eq!(names, ["b:x", "a:y"]);
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.scopes.iter()
    }

    /// How many scopes the set holds.
    ///
    /// ```
    /// assert_eq!(sigra_core::api_token::ScopeSet::parse(["a:b"])?.len(), 1);
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.scopes.len()
    }

    /// Whether the set is empty (and so allows nothing).
    ///
    /// ```
    /// assert!(sigra_core::api_token::ScopeSet::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// The scopes as strings (for a JWT `scopes` claim or a JSON column).
    ///
    /// ```
    /// let set = sigra_core::api_token::ScopeSet::parse(["*:*"])?;
    /// assert_eq!(set.to_strings(), ["*"]);
    /// # Ok::<(), sigra_core::api_token::ApiTokenError>(())
    /// ```
    pub fn to_strings(&self) -> Vec<String> {
        self.scopes.iter().map(ToString::to_string).collect()
    }
}

impl std::fmt::Display for ScopeSet {
    /// Space-separated, as [`ScopeSet::parse_space_separated`] reads it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, scope) in self.scopes.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{scope}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(scope: &str) -> Scope {
        Scope::parse(scope).unwrap()
    }

    #[test]
    fn grammar() {
        for ok in [
            "projects:read",
            "org_members:invite",
            "v2:x1",
            "projects:*",
            "*:read",
            "*",
            "*:*",
        ] {
            assert!(Scope::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            " ",
            "projects",
            "projects:",
            ":read",
            ":",
            "a:b:c",
            "Projects:read",
            "projects:READ",
            "pro jects:read",
            "projects:read ",
            "proj*:read",
            "projects:re*",
            "**",
            "**:read",
            "1projects:read",
            "_projects:read",
            "projects:-read",
            "api-keys:read",
            "projects.read",
            "prøjects:read",
        ] {
            let err = Scope::parse(bad).unwrap_err();
            assert!(matches!(err, ApiTokenError::InvalidScope { .. }), "{bad}");
        }
        let long = format!("{}:read", "a".repeat(65));
        assert!(Scope::parse(&long).is_err());
        assert!(Scope::parse(&format!("{}:read", "a".repeat(64))).is_ok());
    }

    #[test]
    fn star_star_is_star() {
        assert_eq!(s("*:*"), s("*"));
        assert_eq!(s("*:*").to_string(), "*");
    }

    #[test]
    fn matching() {
        assert!(s("projects:read").allows(&s("projects:read")));
        assert!(!s("projects:read").allows(&s("projects:write")));
        assert!(!s("projects:read").allows(&s("project:read")));
        assert!(s("projects:*").allows(&s("projects:write")));
        assert!(!s("projects:*").allows(&s("billing:write")));
        assert!(s("*:read").allows(&s("billing:read")));
        assert!(!s("*:read").allows(&s("billing:write")));
        assert!(s("*").allows(&s("projects:*")));
        assert!(s("projects:*").allows(&s("projects:*")));
        assert!(!s("projects:read").allows(&s("projects:*")));
        assert!(!s("*:read").allows(&s("*")));
    }

    #[test]
    fn write_implies_read_only_when_on() {
        let plain = ScopeSet::parse(["projects:write", "*:write"]).unwrap();
        let wir = plain.clone().with_write_implies_read(true);
        assert!(
            !ScopeSet::parse(["projects:write"])
                .unwrap()
                .allows(&s("projects:read"))
        );
        assert!(wir.allows(&s("projects:read")));
        assert!(wir.allows(&s("billing:read")));
        assert!(!wir.allows(&s("billing:delete")));
        let only_projects = ScopeSet::parse(["projects:write"])
            .unwrap()
            .with_write_implies_read(true);
        assert!(!only_projects.allows(&s("billing:read")));
        assert!(!only_projects.allows(&s("projects:*")));
        assert!(!plain.allows(&s("billing:read")));
    }

    #[test]
    fn sets() {
        let set = ScopeSet::parse_space_separated("  a:b\tc:d  a:b ").unwrap();
        assert_eq!(set.to_string(), "a:b c:d");
        assert!(ScopeSet::parse_space_separated("").unwrap().is_empty());
        let too_many: Vec<String> = (0..=MAX_SCOPES).map(|i| format!("r{i}:read")).collect();
        assert!(matches!(
            ScopeSet::parse(&too_many),
            Err(ApiTokenError::TooManyScopes { .. })
        ));
        assert_eq!(
            ScopeSet::parse(&too_many[..MAX_SCOPES]).unwrap().len(),
            MAX_SCOPES
        );
        let granted = ScopeSet::parse(["a:b"]).unwrap();
        assert!(matches!(
            granted.require("a:c"),
            Err(ApiTokenError::ScopeDenied { required }) if required == "a:c"
        ));
        assert!(matches!(
            granted.require("nope"),
            Err(ApiTokenError::InvalidScope { .. })
        ));
        let offered = ScopeSet::parse(["projects:write"])
            .unwrap()
            .with_write_implies_read(true);
        assert!(
            ScopeSet::parse(["projects:read", "projects:write"])
                .unwrap()
                .ensure_within(&offered)
                .is_ok()
        );
        assert!(matches!(
            ScopeSet::parse(["projects:read", "billing:read"]).unwrap().ensure_within(&offered),
            Err(ApiTokenError::ScopeNotAllowed { scope }) if scope == "billing:read"
        ));
    }

    fn segment_strategy() -> impl Strategy<Value = String> {
        prop_oneof![Just("*".to_string()), "[a-z][a-z0-9_]{0,10}"]
    }

    fn scope_strategy() -> impl Strategy<Value = Scope> {
        (segment_strategy(), segment_strategy()).prop_map(|(r, a)| s(&format!("{r}:{a}")))
    }

    proptest! {
        #[test]
        fn parse_is_total(input in any::<String>()) {
            match Scope::parse(&input) {
                Ok(scope) => prop_assert_eq!(Scope::parse(&scope.to_string()).unwrap(), scope),
                Err(e) => {
                    let clear = matches!(e, ApiTokenError::InvalidScope { .. }) && !e.to_string().is_empty();
                    prop_assert!(clear, "{}", e);
                }
            }
            let _ = ScopeSet::parse_space_separated(&input);
        }

        #[test]
        fn parse_is_total_near_valid(input in "[a-zA-Z0-9_*: -]{0,20}") {
            let _ = Scope::parse(&input);
        }

        #[test]
        fn display_round_trip(scope in scope_strategy()) {
            prop_assert_eq!(Scope::parse(&scope.to_string()).unwrap(), scope);
        }

        #[test]
        fn star_allows_everything(scope in scope_strategy()) {
            prop_assert!(Scope::all().allows(&scope));
            prop_assert!(ScopeSet::parse(["*"]).unwrap().allows(&scope));
        }

        #[test]
        fn exact_allows_itself(scope in scope_strategy()) {
            prop_assert!(scope.allows(&scope));
            let set = ScopeSet::parse([scope.to_string()]).unwrap();
            prop_assert!(set.allows(&scope));
        }

        #[test]
        fn allows_is_transitive(a in scope_strategy(), b in scope_strategy(), c in scope_strategy()) {
            if a.allows(&b) && b.allows(&c) {
                prop_assert!(a.allows(&c));
            }
        }

        #[test]
        fn allows_is_antisymmetric(a in scope_strategy(), b in scope_strategy()) {
            if a.allows(&b) && b.allows(&a) {
                prop_assert_eq!(a, b);
            }
        }

        #[test]
        fn write_implies_read_only_adds(granted in proptest::collection::vec(scope_strategy(), 0..5), required in scope_strategy()) {
            let plain = ScopeSet::parse(granted.iter().map(ToString::to_string)).unwrap();
            let wir = plain.clone().with_write_implies_read(true);
            if plain.allows(&required) {
                prop_assert!(wir.allows(&required));
            }
        }

        #[test]
        fn empty_set_allows_nothing(required in scope_strategy()) {
            prop_assert!(!ScopeSet::new().allows(&required));
        }
    }
}
