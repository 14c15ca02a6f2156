use super::*;

/// What an error must look like.
type Check = fn(&XmlError) -> bool;

const LIMITS: Limits = Limits {
    max_bytes: 4096,
    max_depth: 4,
    max_elements: 16,
    max_attributes: 4,
};

#[test]
fn names_resolve_to_namespace_and_local_name_whatever_the_prefix() {
    let root = parse(
        br#"<a:root xmlns:a="urn:x-one" xmlns="urn:x-default" plain="1" a:qualified="2">
              <child/><b:child xmlns:b="urn:x-one"/><unbound xmlns=""/>
            </a:root>"#,
        &LIMITS,
    )
    .unwrap();
    assert!(root.is("urn:x-one", "root"));
    assert_eq!(root.attribute("plain"), Some("1"));
    // A prefixed attribute is not the unprefixed one of the same name.
    assert_eq!(root.attribute("qualified"), None);
    let names: Vec<_> = root
        .children
        .iter()
        .map(|c| (c.namespace.as_deref(), c.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (Some("urn:x-default"), "child"),
            (Some("urn:x-one"), "child"),
            (None, "unbound"),
        ]
    );
    assert_eq!(root.children_named("urn:x-one", "child").count(), 1);
}

#[test]
fn text_joins_predefined_entities_character_references_and_cdata() {
    let root = parse(
        "<r a=\"&lt;&#x41;&quot;\">x &amp; &#233;&#x1F642; <![CDATA[<raw>&amp;]]>\r\n</r>"
            .as_bytes(),
        &LIMITS,
    )
    .unwrap();
    assert_eq!(root.text, "x & é🙂 <raw>&amp;\n");
    assert_eq!(root.attribute("a"), Some("<A\""));
}

#[test]
fn descendants_come_in_document_order() {
    let root = parse(b"<a><b><c/></b><d/></a>", &LIMITS).unwrap();
    let names: Vec<_> = root.descendants().iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
}

#[test]
fn limits_are_enforced_before_the_work_they_bound() {
    let big = vec![b' '; LIMITS.max_bytes + 1];
    assert!(matches!(
        parse(&big, &LIMITS),
        Err(XmlError::TooLarge {
            size: 4097,
            limit: 4096
        })
    ));
    assert!(matches!(
        parse(b"<a><b><c><d><e/></d></c></b></a>", &LIMITS),
        Err(XmlError::TooDeep { limit: 4 })
    ));
    assert!(parse(b"<a><b><c><d/></c></b></a>", &LIMITS).is_ok());
    let wide = format!("<a>{}</a>", "<b/>".repeat(16));
    assert!(matches!(
        parse(wide.as_bytes(), &LIMITS),
        Err(XmlError::TooManyElements { limit: 16 })
    ));
    assert!(matches!(
        parse(br#"<a p="1" q="2" r="3" s="4" t="5"/>"#, &LIMITS),
        Err(XmlError::TooManyAttributes { limit: 4 })
    ));
}

#[test]
fn malformed_input_is_an_error_not_a_panic() {
    let cases: [(&[u8], Check); 12] = [
        (b"", |e| matches!(e, XmlError::NoRoot)),
        (b"  <!-- only a comment -->  ", |e| {
            matches!(e, XmlError::NoRoot)
        }),
        (b"<a><b></a>", |e| matches!(e, XmlError::Malformed(_))),
        (b"<a>", |e| matches!(e, XmlError::Truncated(n) if n == "a")),
        (b"<a", |e| matches!(e, XmlError::Malformed(_))),
        (b"<a/><b/>", |e| matches!(e, XmlError::OutsideRoot)),
        (b"text<a/>", |e| matches!(e, XmlError::OutsideRoot)),
        (
            b"<a>&nbsp;</a>",
            |e| matches!(e, XmlError::UndefinedEntity(n) if n == "nbsp"),
        ),
        (b"<a>&#0;</a>", |e| matches!(e, XmlError::Malformed(_))),
        (
            b"<p:a/>",
            |e| matches!(e, XmlError::UndeclaredPrefix(p) if p == "p"),
        ),
        (b"<a x=\"1\" x=\"2\"/>", |e| {
            matches!(e, XmlError::Malformed(_))
        }),
        (b"<a>\xff</a>", |e| matches!(e, XmlError::NotUtf8)),
    ];
    for (input, expected) in cases {
        let error = parse(input, &LIMITS).unwrap_err();
        assert!(
            expected(&error),
            "{:?}: {error:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn a_document_type_declaration_is_refused_even_without_entities() {
    assert!(matches!(
        parse(b"<!DOCTYPE a><a/>", &LIMITS),
        Err(XmlError::DocType)
    ));
}

#[test]
fn errors_quote_only_the_start_of_huge_input() {
    let name = "n".repeat(10_000);
    let input = format!("<{name}>");
    let limits = Limits {
        max_bytes: 20_000,
        ..LIMITS
    };
    let XmlError::Truncated(quoted) = parse(input.as_bytes(), &limits).unwrap_err() else {
        panic!("not truncated");
    };
    assert!(quoted.len() < 100, "{}", quoted.len());
    assert_eq!(excerpt("short"), "short");
    assert_eq!(excerpt(&"é".repeat(70)), format!("{}...", "é".repeat(64)));
}

#[test]
fn the_writer_escapes_text_and_attributes_and_replaces_what_xml_cannot_carry() {
    let mut document = DocumentWriter::new();
    document.start("r", &[("a", "<&>\"'\n\t")]);
    document.text_element("t", &[], "<&>\"' \r \u{1}\u{fffe} ok");
    document.empty("e", &[("b", "\u{0}")]);
    document.end("r");
    let written = document.finish();
    assert!(written.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<r "));

    let root = parse(written.as_bytes(), &LIMITS).unwrap();
    assert_eq!(root.attribute("a"), Some("<&>\"'\n\t"));
    assert_eq!(root.children[0].text, "<&>\"' \r \u{fffd}\u{fffd} ok");
    assert_eq!(root.children[1].attribute("b"), Some("\u{fffd}"));
}
