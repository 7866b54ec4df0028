//! An org directory document (`PUT /v1/org`, imports): parsing, validation and
//! every tree walk end, whatever the parents and successors say.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(stored) = serde_json::from_slice::<csq_core::domain::org::StoredOrg>(data) {
        let org = stored.into_tree();
        let _ = org.validate();
        for u in org.units.iter().take(64) {
            let _ = org.path(&u.code);
            let _ = org.subtree(&u.code);
            let _ = org.head_for(&u.code);
            let _ = org.predecessors(&u.code);
        }
    }
});
