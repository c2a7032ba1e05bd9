//! The accepted forms of string values that the real tools parse: AWS account ids
//! and regions, ingress hosts, secret store paths, EKS Kubernetes versions and route
//! paths (E209).
//!
//! A string field names its form in the stdlib (`format = host`); route paths are
//! always checked. Each check returns what is wrong, in a few words, and the value
//! meant when it can be told (the URL's host, the id without dashes), which the
//! diagnostic offers as a replacement.

/// A string field's accepted form, beyond its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Exactly 12 digits.
    AwsAccount,
    /// `eu-west-1`, `us-gov-west-1`, `us-isob-east-1`.
    AwsRegion,
    /// A DNS host name: lowercase RFC 1123 labels, at least two.
    Host,
    /// An AWS Secrets Manager secret name.
    SecretPath,
    /// A Kubernetes `major.minor` version govc pins EKS add-ons for
    /// ([`crate::emit::versions::EKS_KUBERNETES_VERSIONS`]).
    KubernetesVersion,
    /// The ARN of an IAM role: `arn:<partition>:iam::<12 digits>:role/<path/>name`.
    IamRoleArn,
    /// A Route 53 hosted zone id: `Z` and up to 31 uppercase letters and digits.
    HostedZoneId,
}

/// What is wrong with a value, and the value meant when it can be told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub why: String,
    pub fix: Option<String>,
}

impl Problem {
    fn new(why: impl Into<String>) -> Problem {
        Problem { why: why.into(), fix: None }
    }
}

impl Format {
    pub fn parse(word: &str) -> Option<Format> {
        match word {
            "aws_account" => Some(Format::AwsAccount),
            "aws_region" => Some(Format::AwsRegion),
            "host" => Some(Format::Host),
            "secret_path" => Some(Format::SecretPath),
            "kubernetes_version" => Some(Format::KubernetesVersion),
            "iam_role_arn" => Some(Format::IamRoleArn),
            "hosted_zone_id" => Some(Format::HostedZoneId),
            _ => None,
        }
    }

    /// What the value must be, for the message: "`account` is not {what}".
    pub fn what(self) -> &'static str {
        match self {
            Format::AwsAccount => "a 12-digit AWS account id",
            Format::AwsRegion => "an AWS region",
            Format::Host => "a DNS host name",
            Format::SecretPath => "a secret name Secrets Manager accepts",
            Format::KubernetesVersion => "a Kubernetes version govc supports on EKS",
            Format::IamRoleArn => "the ARN of an IAM role",
            Format::HostedZoneId => "a Route 53 hosted zone id",
        }
    }

    /// What is accepted, for the help line.
    pub fn accepted(self) -> String {
        let fixed = match self {
            Format::AwsAccount => "an AWS account id is exactly 12 digits, like `111111111111` (keep leading zeros)",
            Format::AwsRegion => {
                "a region is written like `eu-west-1`, `ap-southeast-2`, `us-gov-west-1` or `eusc-de-east-1`: lowercase, \
                 ending in a digit"
            }
            Format::KubernetesVersion => {
                use crate::emit::versions;
                return format!(
                    "write one of {} (the default is `{}`); other versions have no pinned EKS add-ons, or are out \
                     of EKS standard support",
                    versions::accepted_kubernetes_versions(),
                    versions::EKS_DEFAULT_KUBERNETES_VERSION
                );
            }
            Format::Host => {
                "write a host name only, like `api.example.com`: two or more lowercase labels of letters, digits \
                 and `-` (1 to 63 characters, not starting or ending with `-`), at most 253 characters; \
                 no scheme, user, port, path, wildcard or trailing dot"
            }
            Format::SecretPath => "a secret path is 1 to 512 characters of ASCII letters, digits and `/_+=.@-`",
            Format::IamRoleArn => {
                "a role ARN is written like `arn:aws:iam::111111111111:role/ci-deployer`: partition `aws`, \
                 `aws-us-gov` or `aws-cn`, a 12-digit account, `role/`, an optional path and a name of 1 to 64 \
                 characters of letters, digits and `+=,.@_-`"
            }
            Format::HostedZoneId => {
                "a hosted zone id is `Z` followed by uppercase letters and digits, like `Z0123456789ABCDEFGHIJ` \
                 (the id, not the zone's name; without `/hostedzone/`)"
            }
        };
        fixed.to_string()
    }

    /// `Err` with what is wrong, or `Ok` if `value` has this form.
    pub fn check(self, value: &str) -> Result<(), Problem> {
        match self {
            Format::AwsAccount => account(value),
            Format::AwsRegion => region(value),
            Format::Host => host(value),
            Format::SecretPath => secret_path(value),
            Format::KubernetesVersion => kubernetes_version(value),
            Format::IamRoleArn => iam_role_arn(value),
            Format::HostedZoneId => hosted_zone_id(value),
        }
    }
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn account(value: &str) -> Result<(), Problem> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::new(format!("it has {}", count(value.len(), "digit"))));
    }
    let separators = value.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
    let fix = (separators && digits.len() == 12).then_some(digits);
    Err(Problem { why: "it is not only digits".into(), fix })
}

fn region(value: &str) -> Result<(), Problem> {
    // ^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$, and the European Sovereign Cloud's
    // `eusc-<area>-<direction>-<n>` (`eusc-de-east-1`).
    let plain = value.strip_prefix("eusc-").filter(|rest| !rest.contains("-gov-") && !rest.contains("-iso"));
    let parts: Vec<&str> = plain.unwrap_or(value).split('-').collect();
    let lower = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    let ok = match parts.as_slice() {
        [area, partition @ .., direction, number] => {
            area.len() == 2
                && lower(area)
                && match partition {
                    [] => true,
                    [p] => {
                        *p == "gov"
                            || p.strip_prefix("iso").is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_lowercase()))
                    }
                    _ => false,
                }
                && lower(direction)
                && number.len() == 1
                && number.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let lowered = value.trim().to_ascii_lowercase();
    let fix = (lowered != value && region(&lowered).is_ok()).then_some(lowered);
    let why = if value.bytes().any(|b| b.is_ascii_uppercase()) {
        "it has uppercase letters"
    } else if value.bytes().any(|b| b.is_ascii_whitespace()) {
        "it has spaces"
    } else if value.len() > 2 && value.bytes().last().is_some_and(|b| b.is_ascii_lowercase()) {
        "it does not end with the region's number"
    } else {
        "it is not `<area>-<direction>-<number>`"
    };
    Err(Problem { why: why.into(), fix })
}

/// The host a URL-ish value names: without scheme, user, path, port or trailing dot,
/// in lowercase.
fn host_meant(value: &str) -> String {
    let mut s = value.trim();
    if let Some((_, rest)) = s.split_once("://") {
        s = rest;
    }
    if let Some(end) = s.find(['/', '?', '#']) {
        s = &s[..end];
    }
    if let Some((_, rest)) = s.rsplit_once('@') {
        s = rest;
    }
    if let Some((name, port)) = s.rsplit_once(':') {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            s = name;
        }
    }
    s.trim_end_matches('.').to_ascii_lowercase()
}

fn host_shape(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("it is empty");
    }
    if value.contains("://") {
        return Err("it has a scheme");
    }
    if value.contains('@') {
        return Err("it has a user part (`@`)");
    }
    if value.contains(['/', '?', '#']) {
        return Err("it has a path");
    }
    if value.contains(':') {
        return Err("it has a port");
    }
    if value.starts_with("*.") || value == "*" {
        return Err("it is a wildcard");
    }
    if value.ends_with('.') {
        return Err("it ends with a dot");
    }
    if value.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("it has uppercase letters");
    }
    if value.len() > 253 {
        return Err("it is longer than 253 characters");
    }
    let labels: Vec<&str> = value.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err("it has an empty label (`..` or a leading dot)");
        }
        if label.len() > 63 {
            return Err("it has a label longer than 63 characters");
        }
        if !label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err("it has a character other than letters, digits, `-` and `.`");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label starts or ends with `-`");
        }
    }
    if labels.len() < 2 {
        return Err("it has no domain (one label only)");
    }
    if labels.last().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit())) {
        return Err("it is an IP address, not a name");
    }
    Ok(())
}

fn host(value: &str) -> Result<(), Problem> {
    let why = match host_shape(value) {
        Ok(()) => return Ok(()),
        Err(why) => why,
    };
    let meant = host_meant(value);
    let fix = (meant != value && host_shape(&meant).is_ok()).then_some(meant);
    Err(Problem { why: why.into(), fix })
}

/// `arn:<partition>:iam::<account>:role/<path/>name`, as IAM accepts it: a path of
/// `/`-separated segments, a name of 1 to 64 characters of `[A-Za-z0-9+=,.@_-]`.
fn iam_role_arn(value: &str) -> Result<(), Problem> {
    let Some(rest) = value.strip_prefix("arn:") else {
        return Err(Problem::new("it does not start with `arn:`"));
    };
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let [partition, service, region, account, resource] = parts.as_slice() else {
        return Err(Problem::new("it does not have the six `:`-separated parts of an ARN"));
    };
    if !["aws", "aws-us-gov", "aws-cn"].contains(partition) {
        return Err(Problem::new("its partition is not `aws`, `aws-us-gov` or `aws-cn`"));
    }
    if *service != "iam" || !region.is_empty() {
        return Err(Problem::new("it is not an IAM ARN (`arn:aws:iam::...`)"));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::new("its account is not 12 digits"));
    }
    let Some(path) = resource.strip_prefix("role/") else {
        return Err(Problem::new("it does not name a role (`role/NAME`)"));
    };
    let name = path.rsplit('/').next().unwrap_or_default();
    let name_char = |b: u8| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b);
    if name.is_empty() || name.len() > 64 || !name.bytes().all(name_char) {
        return Err(Problem::new("its role name is not 1 to 64 letters, digits and `+=,.@_-`"));
    }
    if path.len() > 512 || !path.bytes().all(|b| b == b'/' || name_char(b)) || path.contains("//") {
        return Err(Problem::new("its role path has characters IAM refuses"));
    }
    Ok(())
}

/// `Z` and 1 to 31 uppercase letters and digits (Route 53 ids are at most 32).
fn hosted_zone_id(value: &str) -> Result<(), Problem> {
    let shape = |v: &str| {
        v.len() >= 2
            && v.len() <= 32
            && v.starts_with('Z')
            && v.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    };
    if shape(value) {
        return Ok(());
    }
    let meant = value.trim().trim_start_matches("/hostedzone/").to_ascii_uppercase();
    let fix = (meant != value && shape(&meant)).then_some(meant);
    let why = if value.contains('.') {
        "it is a zone name, not its id"
    } else if value.starts_with("/hostedzone/") {
        "it has the `/hostedzone/` prefix"
    } else {
        "it is not `Z` followed by uppercase letters and digits"
    };
    Err(Problem { why: why.into(), fix })
}

/// A secret name character Secrets Manager accepts.
fn secret_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_+=.@-".contains(c)
}

fn secret_path(value: &str) -> Result<(), Problem> {
    if value.is_empty() {
        return Err(Problem::new("it is empty"));
    }
    if value.len() > 512 {
        return Err(Problem::new(format!("it is {} characters long", value.len())));
    }
    let bad = refused_chars(value, secret_char);
    if bad.is_empty() {
        return Ok(());
    }
    Err(Problem::new(format!("it has {}", bad.join(", "))))
}

fn kubernetes_version(value: &str) -> Result<(), Problem> {
    if crate::emit::versions::kubernetes(value).is_some() {
        return Ok(());
    }
    // `v1.36`, `1.36.0`: the minor version meant, when govc accepts it.
    let trimmed = value.trim().trim_start_matches(['v', 'V']);
    let minor = trimmed.splitn(3, '.').take(2).collect::<Vec<_>>().join(".");
    let fix = (minor != value && crate::emit::versions::kubernetes(&minor).is_some()).then_some(minor);
    let why = if fix.is_some() {
        "EKS takes `major.minor` only"
    } else if trimmed.split('.').count() == 2
        && trimmed.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        "govc pins no EKS add-ons for it"
    } else {
        "it is not a `major.minor` version"
    };
    Err(Problem { why: why.into(), fix })
}

/// The characters of `value` that `allowed` refuses, each once, as a message shows them.
fn refused_chars(value: &str, allowed: fn(char) -> bool) -> Vec<String> {
    let mut bad: Vec<String> = Vec::new();
    for c in value.chars().filter(|c| !allowed(*c)) {
        let shown = match c {
            ' ' => "` ` (a space)".to_string(),
            c if c.is_control() => format!("`{}`", c.escape_default()),
            c => format!("`{c}`"),
        };
        if !bad.contains(&shown) {
            bad.push(shown);
        }
    }
    bad
}

/// A route path character: what ingress-nginx's strict path validation (the default
/// since 1.12) admits for `pathType: Prefix`, and the ALB accepts in a path pattern.
fn route_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/_-".contains(c)
}

/// An ingress route path: absolute, of letters, digits and `/_-` only, no `//`, at
/// most 128 characters (the ALB's limit for a path pattern).
pub fn route_path(value: &str) -> Result<(), Problem> {
    let fix = |candidate: String| (route_path(&candidate).is_ok()).then_some(candidate);
    if !value.starts_with('/') {
        let meant = format!("/{}", value.trim_start_matches("./"));
        let why = if value.is_empty() { "it is empty" } else { "it does not start with `/`" };
        return Err(Problem { why: why.into(), fix: fix(meant) });
    }
    if value.len() > 128 {
        return Err(Problem::new(format!("it is {} characters long", value.len())));
    }
    if let Some(end) = value.find(['?', '#']) {
        let what = if value.as_bytes()[end] == b'?' { "a query (`?`)" } else { "a fragment (`#`)" };
        return Err(Problem { why: format!("it has {what}"), fix: fix(value[..end].to_string()) });
    }
    let bad = refused_chars(value, route_char);
    if !bad.is_empty() {
        return Err(Problem::new(format!("it has {}", bad.join(", "))));
    }
    if value.contains("//") {
        return Err(Problem::new("it has an empty segment (`//`)"));
    }
    Ok(())
}

/// What a route path may be, for the help line.
pub const ROUTE_PATH_ACCEPTED: &str = "a route path starts with `/`, like `/` or `/api/v1`: letters, digits and `/_-` \
     (what ingress-nginx and the ALB both accept for a prefix), no `//`, at most 128 characters";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_twelve_digits() {
        assert!(account("012345678901").is_ok());
        assert_eq!(account("22222222222").expect_err("refused").why, "it has 11 digits");
        assert_eq!(account("1234-5678-9012").expect_err("refused").fix.as_deref(), Some("123456789012"));
        assert!(account("").is_err());
        assert!(account("12345678901a").is_err());
    }

    #[test]
    fn regions_follow_the_aws_pattern() {
        for ok in [
            "eu-west-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "us-iso-east-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "il-central-1",
            "eusc-de-east-1",
        ] {
            assert!(region(ok).is_ok(), "{ok}");
        }
        for bad in
            ["eu-west", "EU-WEST-1", "euwest1", "eu-west-12", "e-west-1", "eu--1", "eu-gov-x-west-1", " eu-west-1", ""]
        {
            assert!(region(bad).is_err(), "{bad}");
        }
        assert_eq!(region("EU-WEST-1").expect_err("refused").fix.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn hosts_are_rfc_1123_names() {
        for ok in ["p.example.com", "staging.p.example.com", "shop.localhost", "a-b.c0", "x1.example"] {
            assert!(host(ok).is_ok(), "{ok}");
        }
        let cases = [
            ("staging.p.example.com:443", "it has a port", Some("staging.p.example.com")),
            ("https://p.example.com/", "it has a scheme", Some("p.example.com")),
            ("user@p.example.com", "it has a user part (`@`)", Some("p.example.com")),
            ("p.example.com/api", "it has a path", Some("p.example.com")),
            ("p.example.com.", "it ends with a dot", Some("p.example.com")),
            ("P.Example.com", "it has uppercase letters", Some("p.example.com")),
            ("*.example.com", "it is a wildcard", None),
            ("localhost", "it has no domain (one label only)", None),
            ("10.0.0.1", "it is an IP address, not a name", None),
            ("-a.example.com", "a label starts or ends with `-`", None),
            ("a..example.com", "it has an empty label (`..` or a leading dot)", None),
            ("a_b.example.com", "it has a character other than letters, digits, `-` and `.`", None),
            ("", "it is empty", None),
        ];
        for (value, why, fix) in cases {
            let p = host(value).expect_err("refused");
            assert_eq!((p.why.as_str(), p.fix.as_deref()), (why, fix), "{value}");
        }
        let long_label = format!("{}.example.com", "a".repeat(64));
        assert!(host(&long_label).is_err());
        let long = vec!["a".repeat(63); 4].join(".") + ".com";
        assert_eq!(host(&long).expect_err("refused").why, "it is longer than 253 characters");
    }

    #[test]
    fn secret_paths_use_the_secrets_manager_alphabet() {
        assert!(secret_path("p/staging/AZaz09/_+=.@-").is_ok());
        assert!(secret_path(&"a".repeat(512)).is_ok());
        assert!(secret_path(&"a".repeat(513)).is_err());
        assert_eq!(secret_path("p/staging/k ey").expect_err("refused").why, "it has ` ` (a space)");
        assert_eq!(secret_path("p/a:b*c").expect_err("refused").why, "it has `:`, `*`");
        assert!(secret_path("").is_err());
        assert!(secret_path("p/é").is_err());
    }

    #[test]
    fn kubernetes_versions_are_the_pinned_ones() {
        assert!(kubernetes_version(crate::emit::versions::EKS_DEFAULT_KUBERNETES_VERSION).is_ok());
        let refused = kubernetes_version("1.32").expect_err("refused");
        assert_eq!((refused.why.as_str(), refused.fix), ("govc pins no EKS add-ons for it", None));
        let refused = kubernetes_version("v1.36.2").expect_err("refused");
        assert_eq!((refused.why.as_str(), refused.fix.as_deref()), ("EKS takes `major.minor` only", Some("1.36")));
        assert_eq!(kubernetes_version("latest").expect_err("refused").why, "it is not a `major.minor` version");
        assert!(Format::KubernetesVersion.accepted().contains("`1.35`"));
    }

    /// Applying every E209 fix of a case leaves only the values whose meaning cannot
    /// be told (a wildcard, a single label), and the fixes write quoted strings.
    #[test]
    fn fixes_write_the_value_meant() {
        let compile = |text: &str| {
            let mut sources = crate::Sources::with_stdlib();
            sources.add("project.gov", text);
            let diagnostics = crate::compile(&sources, &crate::Options::default()).diagnostics;
            diagnostics.into_iter().filter(|d| d.code == crate::diag::Code::E209).collect::<Vec<_>>()
        };
        for (case, left) in [
            (include_str!("../../../tests/cases/values/host.gov"), 2),
            (include_str!("../../../tests/cases/values/aws_account_region.gov"), 3),
            (include_str!("../../../tests/cases/values/route_path.gov"), 4),
        ] {
            let mut edits: Vec<_> = compile(case).into_iter().flat_map(|d| d.fixes).flat_map(|f| f.edits).collect();
            edits.sort_by_key(|e| std::cmp::Reverse(e.span.range().start));
            let mut fixed = case.to_string();
            for edit in &edits {
                assert!(fixed[edit.span.range()].starts_with('"'), "a fix replaces the whole string literal");
                fixed.replace_range(edit.span.range(), &edit.text);
            }
            let remaining = compile(&fixed);
            assert_eq!(remaining.len(), left, "{remaining:#?}");
        }
    }

    /// The stdlib names the forms; a `format` or `prefix` where it does not apply is a
    /// bug in the stdlib (E901), never silently ignored.
    #[test]
    fn the_stdlib_declares_forms_and_refuses_misplaced_ones() {
        use crate::model::schema::Schema;
        let load = |text: &str| {
            let mut sources = crate::Sources::new();
            sources.add("kinds.gov", text);
            let mut sink = crate::diag::Diagnostics::new();
            let (id, _) = sources.iter().next().expect("one file");
            let file = crate::syntax::parse_file(&sources, id, &mut sink);
            let schema = Schema::load(&[&file], &mut sink);
            (schema, sink.into_sorted())
        };
        let (stdlib, bugs) = load(include_str!("../../../stdlib/kinds.gov"));
        assert!(bugs.is_empty(), "{bugs:?}");
        let network = stdlib.kind("network").expect("network");
        assert_eq!(network.field("cidr").and_then(|f| f.prefix), Some((16, 28)));
        assert_eq!(stdlib.kind("ingress").and_then(|k| k.field("host")).and_then(|f| f.format), Some(Format::Host));
        let secret = stdlib.kind("secret").and_then(|k| k.field("path")).and_then(|f| f.format);
        assert_eq!(secret, Some(Format::SecretPath));
        let env = stdlib.item("environment").expect("environment");
        let aws = env.block("aws").expect("aws");
        assert_eq!(aws.field("account").and_then(|f| f.format), Some(Format::AwsAccount));
        assert_eq!(aws.field("region").and_then(|f| f.format), Some(Format::AwsRegion));
        let state_region = env.block("state").and_then(|b| b.field("region")).and_then(|f| f.format);
        assert_eq!(state_region, Some(Format::AwsRegion));

        let (_, bugs) = load(
            "kind k {\n  field a { type = int  format = host }\n  field b { type = string  format = hostname }\n  \
             field c { type = cidr  prefix = 28..16 }\n  field d { type = string  prefix = 16..28 }\n}\n",
        );
        let codes: Vec<_> = bugs.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec![crate::diag::Code::E901; 4], "{bugs:?}");
    }

    #[test]
    fn route_paths_are_absolute_and_plain() {
        for ok in ["/", "/api", "/api/v1/", "/hooks/a-b_c"] {
            assert!(route_path(ok).is_ok(), "{ok}");
        }
        assert_eq!(route_path("api").expect_err("refused").fix.as_deref(), Some("/api"));
        assert_eq!(route_path("/api?x=1").expect_err("refused").fix.as_deref(), Some("/api"));
        for bad in ["", "/a b", "/a//b", "/a/../b", "/a/.", "/a%2Fb", "/#x", "/v1.0", "/~user"] {
            assert!(route_path(bad).is_err(), "{bad}");
        }
        assert!(route_path(&format!("/{}", "a".repeat(128))).is_err());
        assert_eq!(route_path("/a b.c").expect_err("refused").why, "it has ` ` (a space), `.`");
    }

    #[test]
    fn role_arns_are_iam_roles_of_an_account() {
        assert!(iam_role_arn("arn:aws:iam::111111111111:role/ci-deployer").is_ok());
        assert!(iam_role_arn("arn:aws-us-gov:iam::111111111111:role/ci/github/deployer").is_ok());
        assert!(iam_role_arn("arn:aws:iam::111111111111:user/ci").is_err());
        assert!(iam_role_arn("arn:aws:iam::11111111111:role/ci").is_err());
        assert!(iam_role_arn("arn:aws:sts::111111111111:assumed-role/ci/x").is_err());
        assert!(iam_role_arn("arn:aws:iam:eu-west-1:111111111111:role/ci").is_err());
        assert!(iam_role_arn("arn:aws:iam::111111111111:role/").is_err());
        assert!(iam_role_arn(&format!("arn:aws:iam::111111111111:role/{}", "a".repeat(65))).is_err());
        assert!(iam_role_arn("arn:aws:iam::111111111111:role/c i").is_err());
        assert!(iam_role_arn("ci-deployer").is_err());
    }

    #[test]
    fn hosted_zone_ids_are_ids_not_names() {
        assert!(hosted_zone_id("Z0123456789ABCDEFGHIJ").is_ok());
        assert_eq!(hosted_zone_id("example.com").expect_err("a name").why, "it is a zone name, not its id");
        assert_eq!(hosted_zone_id("/hostedzone/Z0123ABC").expect_err("prefixed").fix.as_deref(), Some("Z0123ABC"));
        assert_eq!(hosted_zone_id("z0123abc").expect_err("lowercase").fix.as_deref(), Some("Z0123ABC"));
        assert!(hosted_zone_id("Z").is_err());
        assert!(hosted_zone_id(&format!("Z{}", "A".repeat(32))).is_err());
    }
}
