//! Manifest YAML (the `src`/`definition` of the manifest module): any text
//! gives objects or a clear error, never a panic, a hang or a memory blow-up
//! (anchors and aliases are bounded by the YAML parser's budget).
#![no_main]

use libfuzzer_sys::fuzz_target;
use netpath::modules::manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match manifest::parse_documents("definition", text) {
        Ok(objects) => {
            for o in &objects {
                assert!(o.is_object(), "every parsed document is a mapping: {o}");
            }
        }
        Err(e) => assert!(e.to_string().starts_with("definition")),
    }
});
