use super::*;
use std::collections::HashSet;

#[test]
fn one_definition_per_option_and_annotation() {
    let mut options = HashSet::new();
    let mut suffixes = HashSet::new();
    for d in ANNOTATIONS {
        assert!(options.insert(d.option), "option {} twice", d.option);
        assert!(suffixes.insert(d.suffix), "annotation {} twice", d.suffix);
        // The option is the annotation's name in snake_case.
        assert_eq!(d.option, d.suffix.replace(['-', '.'], "_"), "{}", d.option);
        assert!(
            d.doc
                .starts_with(&format!("{ANNOTATION_PREFIX}{}", d.suffix)),
            "the doc of {} names its annotation first",
            d.option
        );
    }
    let specs: Vec<&str> = OPTION_SPECS.iter().map(|s| s.name).collect();
    let defs: Vec<&str> = ANNOTATIONS.iter().map(|d| d.option).collect();
    assert_eq!(specs, defs);
}

#[test]
fn conversions_write_the_controllers_text() {
    let mut f = Findings::new();
    let text = |c: Conv, v: Value, f: &mut Findings| c.read(&v).text("x", f);
    assert_eq!(text(Int, serde_json::json!(443), &mut f), "443");
    assert_eq!(text(Bool, serde_json::json!(true), &mut f), "true");
    assert_eq!(
        text(List, serde_json::json!([" subnet-a", "subnet-b "]), &mut f),
        "subnet-a,subnet-b"
    );
    assert_eq!(
        text(StringMap, serde_json::json!({"a": "1,2", "b": 3}), &mut f),
        "a=1\\,2,b=3"
    );
    assert_eq!(
        text(
            ListenPorts,
            serde_json::json!([{"HTTP": 80}, {"HTTPS": 443}]),
            &mut f
        ),
        "[{\"HTTP\": 80}, {\"HTTPS\": 443}]"
    );
    assert!(f.0.is_empty(), "{:?}", f.0);
    // A key with '=' would be read back as another key.
    text(StringMap, serde_json::json!({"a=b": "c"}), &mut f);
    assert!(f.has_errors());
    assert_eq!(f.0[0].field, "x.a=b");
}
