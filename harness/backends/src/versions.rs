//! Tool versions, pinned once in `ci/versions.env` and compiled in here.
//!
//! The shell scripts source the same file, so CI and the library can never disagree about what "dynalite"
//! means. The file is parsed at run time from a string embedded at build time: simple `KEY=VALUE` lines,
//! `#` comments and blank lines ignored.

/// The text of `ci/versions.env` as it was when this crate was built.
const VERSIONS_ENV: &str = include_str!("../../../ci/versions.env");

/// Looks a key up in `ci/versions.env`. Panics if the key is missing, because a missing pin is a build
/// defect, not a run-time condition (the unit test below checks every key this crate asks for).
fn pinned(key: &str) -> &'static str {
    lookup(VERSIONS_ENV, key).unwrap_or_else(|| panic!("ci/versions.env has no {key}= line"))
}

fn lookup<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().trim_matches('"'))
}

/// The npm version of dynalite, e.g. `4.0.0`.
pub fn dynalite() -> &'static str {
    pinned("DYNALITE_VERSION")
}

/// The PyPI version of moto, e.g. `5.2.5`.
pub fn moto() -> &'static str {
    pinned("MOTO_VERSION")
}

/// The PyPI version of cfn-lint (used by `ci/test.sh`; exposed for completeness).
pub fn cfn_lint() -> &'static str {
    pinned("CFN_LINT_VERSION")
}

/// The DynamoDB Local image name, e.g. `amazon/dynamodb-local`.
pub fn dynamodb_local_image() -> &'static str {
    pinned("DYNAMODB_LOCAL_IMAGE")
}

/// The DynamoDB Local image tag, e.g. `2.6.1`.
pub fn dynamodb_local_tag() -> &'static str {
    pinned("DYNAMODB_LOCAL_TAG")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pin_this_crate_uses_is_present() {
        for version in [
            dynalite(),
            moto(),
            cfn_lint(),
            dynamodb_local_image(),
            dynamodb_local_tag(),
        ] {
            assert!(!version.is_empty());
        }
    }

    #[test]
    fn parser_skips_comments_and_blank_lines_and_trims() {
        let text = "# A=commented\n\n  B = 1.2.3 \nC=\"4\"\n";
        assert_eq!(lookup(text, "A"), None);
        assert_eq!(lookup(text, "B"), Some("1.2.3"));
        assert_eq!(lookup(text, "C"), Some("4"));
    }
}
