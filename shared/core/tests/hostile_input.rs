//! Property tests: every parser of outside input (the integration JSON, form
//! posts, link and staff tokens, listing cursors, queue bodies, org documents)
//! takes anything without a panic, and refuses what it must refuse.

use chrono::Utc;
use csq_core::app::staff::decode_cursor;
use csq_core::auth::link::LinkKeys;
use csq_core::auth::staff::{Hs256, StaffClaims};
use csq_core::domain::complaint::Complaint;
use csq_core::domain::declaration::FormRequest;
use csq_core::domain::form::Form;
use csq_core::domain::org::{OrgDirectory, StoredOrg, Unit};
use csq_core::domain::submission::parse_submission;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Any JSON value, nested a few levels.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::hash_map("[a-z_]{1,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn valid_request() -> Value {
    json!({
        "declaration": {"number": "105234567890", "type_code": "A11",
            "registered_at": "2026-11-27T09:30:00+07:00", "customs_office": "03CC", "lane": "yellow"},
        "business": {"tax_code": "0200123456", "name": "Công ty ABC", "email": "xnk@abc.com.vn"},
        "handling": [
            {"stage": "document_check", "team": "03CC01", "officer": {"id": "HP1234", "name": "Nguyễn Văn An"}},
            {"stage": "clearance", "team": "03CC02", "officer": {"id": "HP5678", "name": "Trần Thị Bình"}}]
    })
}

fn a_form() -> Form {
    let now = Utc::now();
    Form::new(
        "f1".into(),
        FormRequest::parse(&valid_request()).unwrap(),
        now,
        now + chrono::Duration::days(7),
        now + chrono::Duration::days(365),
        vec![],
    )
}

/// An office with a head: validation wants one on the root and routing units.
fn headed_unit(code: &str) -> Unit {
    Unit {
        head: Some(csq_core::domain::org::Handler {
            name: "Trưởng đơn vị".into(),
            email: "head@demo.customs.example".into(),
        }),
        ..Unit::new(code, "Đơn vị", "office", None)
    }
}

const PATHS: [&[&str]; 8] = [
    &["declaration", "number"],
    &["declaration", "registered_at"],
    &["declaration", "lane"],
    &["business", "email"],
    &["business", "tax_code"],
    &["handling"],
    &["handling", "0", "officer"],
    &["business", "language"],
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// The integration contract: any body gives a request or a list of field errors.
    #[test]
    fn the_integration_json_never_panics(body in any_json()) {
        let _ = FormRequest::parse(&body);
    }

    /// One field of a valid request replaced by anything: still no panic, and
    /// an accepted request has the contract's shape.
    #[test]
    fn a_damaged_request_is_refused_or_well_formed(which in 0..PATHS.len(), junk in any_json()) {
        let mut body = valid_request();
        let mut at = &mut body;
        let path = PATHS[which];
        for key in &path[..path.len() - 1] {
            at = match key.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*key],
            };
        }
        at[path[path.len() - 1]] = junk;
        if let Ok(req) = FormRequest::parse(&body) {
            prop_assert_eq!(req.declaration.number.as_str().len(), 12);
            prop_assert!(!req.handling.is_empty());
        }
    }

    /// The rating form post: any fields, any values.
    #[test]
    fn form_posts_never_panic(fields in prop::collection::vec(("(level|reason|comment)\\.[0-9]{1,2}|contact_(name|phone)|[a-z]{1,8}", ".{0,60}"), 0..24)) {
        let form = a_form();
        if let Ok(s) = parse_submission(&form, &fields) {
            prop_assert!(s.ratings.iter().all(|r| form.subject(&r.subject_key).is_some()));
        }
    }

    /// Link tokens: anything not signed by our key is refused, without a panic.
    #[test]
    fn link_tokens_never_panic_and_forgeries_fail(token in ".{0,200}", kid in "[a-z0-9]{1,4}", n in any::<u64>()) {
        let keys = LinkKeys::parse("k1:0123456789abcdefghijklmnopqrstuvwxyzABCD").unwrap();
        prop_assert!(keys.verify(&token).is_err());
        let forged = format!("{kid}.f1.{n}.{token}");
        prop_assert!(keys.verify(&forged).is_err());
    }

    /// Staff tokens: anything not minted with the secret is refused.
    #[test]
    fn staff_tokens_never_panic(token in ".{0,300}") {
        let jwt = Hs256::new(b"0123456789abcdefghijklmnopqrstuvwxyzABCD");
        prop_assert!(jwt.verify(&token, Utc::now()).is_err());
        let _ = StaffClaims::from_payload(&json!({"role": token, "unit": token, "sub": token}));
    }

    /// Listing cursors: anything decodes to a cursor or a 400.
    #[test]
    fn cursors_never_panic(cursor in ".{0,120}", json in any_json()) {
        let _ = decode_cursor(&cursor);
        use base64::Engine;
        let _ = decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string()));
    }

    /// SQS bodies: anything is a complaint or a poison message.
    #[test]
    fn queue_bodies_never_panic(body in ".{0,200}", json in any_json()) {
        let _ = serde_json::from_str::<Complaint>(&body);
        let _ = serde_json::from_value::<Complaint>(json);
    }

    /// Org imports: any document is a directory or an error; any directory
    /// validates without a panic, and its tree walks end even with cycles.
    #[test]
    fn org_documents_never_panic(doc in any_json()) {
        if let Ok(stored) = serde_json::from_value::<StoredOrg>(doc) {
            let org = stored.into_tree();
            let _ = org.validate();
        }
    }

    #[test]
    fn tree_walks_end_on_any_shape(links in prop::collection::vec((0usize..12, prop::option::of(0usize..12), prop::option::of(0usize..12), any::<bool>()), 1..12)) {
        let code = |i: usize| format!("U{i:02}");
        let units: Vec<Unit> = links
            .iter()
            .enumerate()
            .map(|(i, (_, parent, successor, retired))| Unit {
                parent: parent.map(code),
                successor: successor.map(code),
                retired: *retired,
                ..headed_unit(&code(i))
            })
            .collect();
        let org = OrgDirectory::new("U00", "U01", units);
        let _ = org.validate();
        for (i, (probe, _, _, _)) in links.iter().enumerate() {
            for c in [code(i), code(*probe)] {
                let _ = org.ancestors(&c);
                let _ = org.path(&c);
                let _ = org.subtree(&c);
                let _ = org.predecessors(&c);
                let _ = org.head_for(&c);
                let _ = org.current_unit(&c);
            }
        }
        // A directory that validates is a tree: every unit's path starts at the root.
        if org.validate().is_ok() {
            let root = org.root().unwrap().code.clone();
            for u in &org.units {
                prop_assert_eq!(&org.path(&u.code)[0].code, &root);
            }
        }
    }

    /// Any tree (each unit under an earlier one) validates, and every walk
    /// from any unit climbs to the root and comes back down to it.
    #[test]
    fn any_tree_validates_and_walks_to_its_root(parents in prop::collection::vec(any::<usize>(), 2..40)) {
        let code = |i: usize| format!("U{i:02}");
        let units: Vec<Unit> = (0..parents.len())
            .map(|i| Unit {
                parent: (i > 0).then(|| code(parents[i] % i)),
                ..headed_unit(&code(i))
            })
            .collect();
        let org = OrgDirectory::new("U00", "U01", units);
        prop_assert_eq!(org.validate(), Ok(()));
        for u in &org.units {
            let path = org.path(&u.code);
            prop_assert_eq!(path[0].code.as_str(), "U00");
            prop_assert_eq!(&path.last().unwrap().code, &u.code);
            prop_assert!(org.subtree("U00").contains(&u.code));
            prop_assert!(org.subtree(&u.code).iter().all(|c| org.is_within(c, &u.code)));
        }
    }
}
