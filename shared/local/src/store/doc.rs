//! How the store keeps a record's document: its JSON, deflated against a
//! dictionary of what documents hold (their keys, stage and reason codes, a
//! form's and a rating's usual shape), as a BLOB whose first byte names the
//! encoding. A form's 3.3 KB of JSON keeps in about 250 bytes, a rating
//! record's 420 in about 120 (measured on the benchmark's forms). Documents
//! written before (TEXT) read as they are, so an upgraded store needs no
//! rewrite; each is compressed when next written.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};

use super::StoreError;

/// Never change it: every stored document of encoding 1 needs these bytes.
/// A new dictionary is a new encoding byte.
const DICTIONARY_1: &[u8] = include_bytes!("doc-dictionary.txt");
const DEFLATE_1: u8 = 1;

thread_local! {
    // One compressor and one decompressor a thread, reset for each document:
    // deflate's state is a few hundred KB, which allocated anew for every
    // write raised the benchmark's peak memory by a third.
    static COMPRESS: RefCell<Compress> = RefCell::new(Compress::new(Compression::default(), false));
    static DECOMPRESS: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

/// The bytes to store for a document's JSON.
pub(super) fn encode(json: &[u8]) -> Result<Vec<u8>, StoreError> {
    COMPRESS.with(|c| deflate(&mut c.borrow_mut(), json))
}

fn deflate(c: &mut Compress, json: &[u8]) -> Result<Vec<u8>, StoreError> {
    c.reset();
    c.set_dictionary(DICTIONARY_1)
        .map_err(|e| StoreError::Other(format!("compressing a document: {e}")))?;
    let mut out = Vec::with_capacity(json.len() / 3 + 64);
    out.push(DEFLATE_1);
    loop {
        out.reserve(1024);
        let consumed = c.total_in() as usize;
        let status = c
            .compress_vec(&json[consumed..], &mut out, FlushCompress::Finish)
            .map_err(|e| StoreError::Other(format!("compressing a document: {e}")))?;
        if status == Status::StreamEnd {
            return Ok(out);
        }
    }
}

/// A document as read: its JSON.
pub(super) struct StoredDoc(pub(super) Vec<u8>);

impl FromSql for StoredDoc {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Text(json) => Ok(StoredDoc(json.to_vec())),
            ValueRef::Blob(b) => decode(b)
                .map(StoredDoc)
                .map_err(|e| FromSqlError::Other(e.into())),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

fn decode(stored: &[u8]) -> Result<Vec<u8>, String> {
    DECOMPRESS.with(|d| inflate(&mut d.borrow_mut(), stored))
}

fn inflate(d: &mut Decompress, stored: &[u8]) -> Result<Vec<u8>, String> {
    let Some((&DEFLATE_1, deflated)) = stored.split_first() else {
        return Err("a stored document of an unknown encoding".into());
    };
    d.reset(false);
    // Rows of a page are held until parsed: each keeps only its own bytes.
    let mut out = Vec::with_capacity(deflated.len() * 8 + 64);
    // Raw deflate asks for its dictionary only by failing: set it first.
    d.set_dictionary(DICTIONARY_1).map_err(|e| e.to_string())?;
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity());
        }
        let consumed = d.total_in() as usize;
        let status = d
            .decompress_vec(&deflated[consumed..], &mut out, FlushDecompress::Finish)
            .map_err(|e| e.to_string())?;
        match status {
            Status::StreamEnd => {
                out.shrink_to_fit();
                return Ok(out);
            }
            Status::Ok => {}
            Status::BufError
                if d.total_in() as usize == deflated.len() && out.len() < out.capacity() =>
            {
                return Err("a stored document is cut short".into());
            }
            Status::BufError => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_round_trip_small_and_old_ones_read_as_json() {
        let form = DICTIONARY_1
            .split(|b| *b == b'\n')
            .find(|l| l.starts_with(b"{\"id\""))
            .expect("the dictionary holds a form");
        let mut changed = form.to_vec();
        changed.extend_from_slice(b" and more");
        let stored = encode(&changed).unwrap();
        assert!(
            stored.len() < changed.len() / 5,
            "{} of {}",
            stored.len(),
            changed.len()
        );
        assert_eq!(decode(&stored).unwrap(), changed);
        let empty = encode(b"").unwrap();
        assert_eq!(decode(&empty).unwrap(), b"");
        // Long documents, beyond the first buffer.
        let long: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        assert_eq!(decode(&encode(&long).unwrap()).unwrap(), long);
        assert!(decode(&stored[..stored.len() / 2]).is_err(), "cut short");
        assert!(decode(b"\x07abc").is_err(), "unknown encoding");
        let old = StoredDoc::column_result(ValueRef::Text(b"{\"a\":1}")).unwrap();
        assert_eq!(old.0, b"{\"a\":1}");
    }
}
