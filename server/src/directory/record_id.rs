//! A record's id as the index keeps it: 16 bytes for a UUID (every id the server and the seed
//! write) instead of 36 bytes of text on the heap, which at a million services with a place each
//! was over a hundred megabytes of ids alone.

use std::cmp::Ordering;
use std::fmt;

/// An id kept compactly. Ordered exactly as its text is (a canonical UUID's bytes order as its
/// lowercase hex does), so sorting by id gives the database's order.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum RecordId {
    /// A UUID written in its canonical form (lowercase, hyphenated): its text is rebuilt exactly.
    Uuid([u8; 16]),
    /// Anything else a hand-edited database may hold, kept as it is.
    Text(Box<str>),
}

const HYPHENS: [usize; 4] = [8, 13, 18, 23];

impl RecordId {
    pub fn new(text: &str) -> Self {
        Self::parse_canonical_uuid(text).map_or_else(|| Self::Text(text.into()), Self::Uuid)
    }

    /// The bytes of `text` when it is a UUID in exactly the form [`Self::write_text`] gives back.
    fn parse_canonical_uuid(text: &str) -> Option<[u8; 16]> {
        let bytes = text.as_bytes();
        if bytes.len() != 36 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut nibbles = 0;
        for (position, byte) in bytes.iter().enumerate() {
            if HYPHENS.contains(&position) {
                if *byte != b'-' {
                    return None;
                }
                continue;
            }
            let value = match byte {
                b'0'..=b'9' => byte - b'0',
                b'a'..=b'f' => byte - b'a' + 10,
                _ => return None,
            };
            out[nibbles / 2] |= if nibbles % 2 == 0 { value << 4 } else { value };
            nibbles += 1;
        }
        Some(out)
    }

    /// The id's text, written into `buffer` for a UUID (no allocation).
    pub fn as_text<'a>(&'a self, buffer: &'a mut [u8; 36]) -> &'a str {
        match self {
            Self::Text(text) => text,
            Self::Uuid(bytes) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                // Byte by byte, a hyphen before the 5th, 7th, 9th and 11th (`HYPHENS`): every
                // search result writes its id a few times, and a position-by-position loop cost
                // about 1,200 instructions an id.
                let mut at = 0;
                for (index, byte) in bytes.iter().enumerate() {
                    if matches!(index, 4 | 6 | 8 | 10) {
                        buffer[at] = b'-';
                        at += 1;
                    }
                    buffer[at] = HEX[usize::from(byte >> 4)];
                    buffer[at + 1] = HEX[usize::from(byte & 0xf)];
                    at += 2;
                }
                // Only ASCII hex digits and hyphens were written.
                std::str::from_utf8(buffer).unwrap_or_default()
            }
        }
    }

    /// Whether this is the id written `text`.
    pub fn is(&self, text: &str) -> bool {
        match self {
            Self::Text(own) => **own == *text,
            Self::Uuid(bytes) => Self::parse_canonical_uuid(text).is_some_and(|other| other == *bytes),
        }
    }
}

impl Ord for RecordId {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Uuid(a), Self::Uuid(b)) => a.cmp(b),
            (Self::Text(a), Self::Text(b)) => a.cmp(b),
            _ => {
                let (mut a, mut b) = ([0; 36], [0; 36]);
                self.as_text(&mut a).cmp(other.as_text(&mut b))
            }
        }
    }
}

impl PartialOrd for RecordId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_text(&mut [0; 36]))
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_uuids_are_kept_as_bytes_and_written_back_exactly() {
        let text = "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b";
        let id = RecordId::new(text);
        assert!(matches!(id, RecordId::Uuid(_)));
        assert_eq!(id.to_string(), text);
        assert!(id.is(text));
        assert!(!id.is("0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6c"));
    }

    #[test]
    fn other_ids_are_kept_as_text() {
        for text in [
            "0190A3B4-5C6D-7E8F-9A0B-1C2D3E4F5A6B",
            "svc-1",
            "",
            "0190a3b45c6d7e8f9a0b1c2d3e4f5a6b",
            "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6g",
        ] {
            let id = RecordId::new(text);
            assert!(matches!(id, RecordId::Text(_)), "{text}");
            assert_eq!(id.to_string(), text);
            assert!(id.is(text));
        }
    }

    #[test]
    fn ids_order_as_their_text() {
        let texts = [
            "00000000-0000-0000-0000-000000000000",
            "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b",
            "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6c",
            "0190a3b5-0000-0000-0000-000000000000",
            "0190a3b4",
            "0190a3b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b-x",
            "f0000000-0000-0000-0000-000000000000",
            "svc-1",
            "A",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(RecordId::new(a).cmp(&RecordId::new(b)), a.cmp(b), "{a} vs {b}");
            }
        }
    }
}
