//! The stored key of a session: PHP's `SessionHandler::formatId`.

/// Formats the DynamoDB key for session `id` under session name `name`, exactly as the PHP SDK does:
/// `trim(name . '_' . id, '_')` (spec §1.4, C05, C70, C71).
///
/// Only underscores at the two ends of the *combined* string are removed; everything else (commas,
/// dashes, inner underscores) is kept verbatim. Consequences the spec calls out:
/// * an empty name gives the bare id (`("", "abc")` → `abc`);
/// * an empty id gives the bare name (`("CAKEPHP", "")` → `CAKEPHP`), which is where `close()` outside
///   a session writes (C32);
/// * ids differing only in outer underscores collide (`("", "_abc_")` → `abc`, C71);
/// * `("", "")` gives the empty key, which DynamoDB rejects with ValidationException (C68).
pub fn format_key(name: &str, id: &str) -> String {
    let mut combined = String::with_capacity(name.len() + 1 + id.len());
    combined.push_str(name);
    combined.push('_');
    combined.push_str(id);
    combined.trim_matches('_').to_owned()
}

#[cfg(test)]
mod tests {
    use super::format_key;

    #[test]
    fn c05_key_formatting_examples() {
        assert_eq!(format_key("CAKEPHP", "abc"), "CAKEPHP_abc");
        assert_eq!(format_key("", "abc"), "abc");
        assert_eq!(format_key("__N__", "__id__"), "N_____id");
        assert_eq!(format_key("CAKEPHP", ""), "CAKEPHP");
        assert_eq!(format_key("", ""), "");
    }

    #[test]
    fn c70_ids_with_commas_and_dashes_are_verbatim() {
        assert_eq!(format_key("CAKEPHP", "a,b-c"), "CAKEPHP_a,b-c");
        assert_eq!(format_key("CAKEPHP", "-x-"), "CAKEPHP_-x-");
        assert_eq!(format_key("CAKEPHP", "a_b"), "CAKEPHP_a_b");
    }

    #[test]
    fn c71_outer_underscores_of_the_id_collide() {
        assert_eq!(format_key("", "_abc_"), "abc");
        assert_eq!(format_key("", "abc"), format_key("", "__abc"));
    }

    #[test]
    fn only_ascii_underscore_is_trimmed() {
        assert_eq!(format_key(" N ", "x "), " N _x ");
        assert_eq!(format_key("ä_", "_é"), "ä___é");
    }
}
