//! The names and ids bridgerest accepts from the API, the config and the files it reads:
//! checked where they enter. Ground floor: it uses nothing of the crate.

/// Crunchy Bridge IDs (EIDs): 26 characters of lowercase base32, the last one of `4aeimquy`.
pub fn is_eid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 26
        && b[..25]
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && b"4aeimquy".contains(&b[25])
}

/// A UUID in its usual text form (8-4-4-4-12 hex digits).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A name pgBackRest accepts as a stanza and that cannot break out of an INI section header.
/// At most 255 bytes: pgBackRest makes it a directory name in the repository, and bridgerest
/// names a drill's scratch directory after it, so `.` and `..` (which a path join would turn
/// into the parent) are refused like `/`. The alphabet is pgBackRest's documented one for
/// stanzas in practice (letters, digits, `-`, `_`, `.`): its docs name none, so this is the
/// narrowest that every real stanza (Bridge's are cluster ids) fits.
pub fn is_stanza_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s != "global"
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Whether `name` can be a library in `shared_preload_libraries` as `drill.preload` names it.
pub fn is_library_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}
