//! The stable diagnostic codes of spec/CHECKS.md, one enum.
//!
//! Each code's long explanation (why the rule exists, a failing example, the fix)
//! lives in `explain/<CODE>.md` and is embedded here; `govc explain CODE` prints it.
//! Codes are part of the interface: never reuse one for a different rule.

use std::fmt;
use std::str::FromStr;

/// How bad a diagnostic is. `Error` blocks `build`; `Warning` does not unless denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($( $code:ident $sev:ident $title:literal; )*) => {
        /// A stable diagnostic code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $( $code, )* }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[ $( Code::$code, )* ];

            /// The code as written: `E206`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$code => stringify!($code), )* }
            }

            /// The severity a diagnostic with this code has.
            pub fn severity(self) -> Severity {
                match self { $( Code::$code => Severity::$sev, )* }
            }

            /// One line saying what the rule is about.
            pub fn title(self) -> &'static str {
                match self { $( Code::$code => $title, )* }
            }

            /// The long explanation printed by `govc explain`.
            pub fn explanation(self) -> &'static str {
                match self { $( Code::$code => include_str!(concat!("explain/", stringify!($code), ".md")), )* }
            }
        }
    };
}

codes! {
    E101 Error "unexpected token, unclosed block or string";
    E102 Error "invalid literal";
    E103 Error "nesting too deep or file too large";
    E201 Error "unknown item or block kind";
    E202 Error "unknown field for this kind";
    E203 Error "wrong type or unit for a field";
    E204 Error "required field missing";
    E205 Error "duplicate name or field";
    E206 Error "unresolved reference or unknown attribute";
    E207 Error "reference to the wrong kind";
    E208 Error "name is not a DNS-1123 label";
    E209 Error "value outside the field's allowed range";
    E210 Error "project file problem";
    E211 Error "project definition shadows a stdlib definition";
    W201 Warning "deprecated field";
    E301 Error "reference into another environment";
    E302 Error "shared Terraform state location";
    E303 Error "production shares an AWS account";
    E304 Error "shared secret path";
    E305 Error "shared ingress host";
    E306 Error "duplicate environment or missing tier";
    E401 Error "more than one ingress";
    E402 Error "public segment other than ingress";
    E403 Error "flow against the boundary order";
    E404 Error "CIDR outside its network or overlapping";
    E405 Error "network or segment too small";
    E406 Error "malformed egress entry";
    E407 Error "several networks in a cloud environment to build";
    E408 Error "egress to a destination that is not on the public internet";
    E419 Error "route to a service that does not speak HTTP";
    E415 Error "telemetry without a backend in a cloud environment";
    E416 Error "service env sets an OTEL variable that telemetry sets";
    E417 Error "telemetry differs from the mirrored environment";
    E418 Error "resource named like the OpenTelemetry Collector";
    E501 Error "image not pinned by digest";
    E502 Error "literal that looks like a secret";
    E503 Error "secret reference outside env";
    E504 Error "image repository differs across environments";
    W501 Warning "production service with fewer than 2 replicas";
    E601 Error "unsafe production database";
    W601 Warning "database nothing connects to";
    W602 Warning "database password beside IAM database authentication";
    E605 Error "production evidence bucket without compliance-mode Object Lock and retention";
    E606 Error "bucket weaker than the mirrored environment's";
    E607 Error "bucket without a valid S3 name";
    W605 Warning "evidence bucket without lock";
    W606 Warning "noncurrent version expiry shorter than the lock's retention";
    W609 Warning "health path on a service not probed over HTTP";
    W607 Warning "OTLP endpoint that the service's egress does not allow";
    E701 Error "construct not authorized by the phase";
    E702 Error "build in a phase without iac";
    E703 Error "invalid phase ladder";
    E704 Error "build of cloud environments without provider or addressing";
    E801 Error "topology differs from the mirrored environment";
    E802 Error "environment-only resource under mirrors";
    E803 Error "production before non-production in promotion order";
    E804 Error "production artifact that no earlier environment runs";
    E805 Error "promotion against the order of project.environments";
    E806 Error "promotion from an environment that does not check clean";
    E807 Error "promoted image from another repository";
    W801 Warning "environment-only resource";
    W802 Warning "secret nothing references";
    W803 Warning "production artifact that no earlier environment runs (opted out)";
    E901 Error "internal compiler error";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Code {
    type Err = ();

    /// Parses `E206` (case-insensitive).
    fn from_str(s: &str) -> Result<Code, ()> {
        let upper = s.trim().to_ascii_uppercase();
        Code::ALL.iter().copied().find(|c| c.as_str() == upper).ok_or(())
    }
}
