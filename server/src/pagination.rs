//! Pagination for every list of the API, in one place: the `first` bounds and the cursors.
//!
//! A cursor is opaque to clients: base64url (no padding) of `<prefix>:<payload>`, where the
//! prefix names the list and the version of its cursor format (`a1` = accounts, version 1).
//! So a cursor is refused by every list but the one that wrote it, and changing a list's format
//! (a new version) refuses the old cursors instead of misreading them. Anything that is not a
//! cursor the list wrote (garbage, another list's cursor, a negative or huge position) is
//! BAD_USER_INPUT with the same bilingual message, never a panic or an internal error.
//!
//! Most lists are short and paged by position ([`PageRequest`]); nearby search pages by the key
//! of its last result and uses [`encode`] / [`payload`] for its own cursor.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ApiError, ApiResult};

/// Page size when `first` is not given.
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// Largest page any list serves.
pub const MAX_PAGE_SIZE: usize = 50;
/// Largest position an offset cursor may carry: far beyond any list Qiao holds, and far below
/// both `usize` and SQL's 64-bit OFFSET, so the arithmetic on it can never overflow.
pub const MAX_POSITION: usize = 100_000_000;
/// Longest cursor text looked at; real cursors are a few dozen characters.
const MAX_CURSOR_CHARS: usize = 512;

/// Every paged list, each with its own cursor prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// `nearbyServices`: keyed by (distance, place id), see `directory::search::Cursor`.
    NearbyServices,
    /// `urbanVillages`.
    UrbanVillages,
    /// `accounts` (admins).
    Accounts,
    /// `editSuggestions` (the review queue).
    EditSuggestions,
    /// `listingHistory`.
    ListingHistory,
    /// `staleListings`.
    StaleListings,
    /// `servicesInRegion`: by position in its fixed order, see `directory::region`.
    ServicesInRegion,
    /// `myListings`: the listings a staff member keeps.
    MyListings,
    /// `myCaseload` (a social worker's referrals).
    Caseload,
    /// `referralInbox` (a provider's referrals).
    ReferralInbox,
    /// `clients` (a social worker's own organisation's clients).
    Clients,
    /// `Client.referrals` (one client's referrals, for its organisation's social workers).
    ClientReferrals,
    /// `referralsChangedSince` and `referralStatusChanged(since:)`: a referral event id, see
    /// `news::changes`.
    ReferralChanges,
}

impl List {
    /// Kind letter and format version. Bump the digit when a list's payload changes meaning.
    fn prefix(self) -> &'static str {
        match self {
            Self::NearbyServices => "n1",
            Self::UrbanVillages => "o1",
            Self::Accounts => "a1",
            Self::EditSuggestions => "s1",
            Self::ListingHistory => "h1",
            Self::StaleListings => "r1",
            Self::ServicesInRegion => "g1",
            Self::MyListings => "m1",
            Self::Caseload => "c1",
            Self::ReferralInbox => "i1",
            Self::Clients => "k1",
            Self::ClientReferrals => "j1",
            Self::ReferralChanges => "e1",
        }
    }
}

/// Checks `first`: 0 to [`MAX_PAGE_SIZE`], [`DEFAULT_PAGE_SIZE`] when omitted.
pub fn page_size(first: Option<i32>) -> ApiResult<usize> {
    let Some(first) = first else { return Ok(DEFAULT_PAGE_SIZE) };
    match usize::try_from(first) {
        Ok(first) if first <= MAX_PAGE_SIZE => Ok(first),
        _ => Err(ApiError::bad_input(
            "first",
            format!(
                "first must be between 0 and {MAX_PAGE_SIZE}, got {first} (每页数量必须在 0 到 {MAX_PAGE_SIZE} 之间)"
            ),
        )),
    }
}

/// The error for any `after` that is not a cursor of the list asked for.
pub fn bad_cursor() -> ApiError {
    ApiError::bad_input(
        "after",
        "after is not a cursor from this list; start again without it (分页游标无效，请从第一页重新开始)",
    )
}

/// A cursor of `list` carrying `payload`.
pub fn encode(list: List, payload: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{payload}", list.prefix()))
}

/// The payload of a cursor that `list` wrote; `None` for anything else.
pub fn payload(list: List, cursor: &str) -> Option<String> {
    if cursor.len() > MAX_CURSOR_CHARS {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor.as_bytes()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix(list.prefix())?.strip_prefix(':').map(str::to_owned)
}

/// The position in an offset cursor: plain digits up to [`MAX_POSITION`].
fn decode_position(list: List, cursor: &str) -> Option<usize> {
    let payload = payload(list, cursor)?;
    if payload.is_empty() || !payload.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    payload.parse::<usize>().ok().filter(|position| *position <= MAX_POSITION)
}

/// A checked request for one page of a list paged by position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    list: List,
    /// Items on the page.
    pub first: usize,
    /// Position of the page's first item in the whole list.
    pub offset: usize,
}

impl PageRequest {
    /// Checks `first` and `after` (a cursor of `list`, or none for the first page).
    pub fn new(list: List, first: Option<i32>, after: Option<&str>) -> ApiResult<Self> {
        let first = page_size(first)?;
        let offset = match after {
            None => 0,
            // At most MAX_POSITION + 1: cannot overflow.
            Some(cursor) => decode_position(list, cursor).ok_or_else(bad_cursor)? + 1,
        };
        Ok(Self { list, first, offset })
    }

    /// The first page of `list`, `first` long (for tests and internal callers).
    pub fn first_page(list: List, first: usize) -> Self {
        Self { list, first: first.min(MAX_PAGE_SIZE), offset: 0 }
    }

    /// SQL `OFFSET` of the page.
    pub fn sql_offset(&self) -> u64 {
        self.offset as u64
    }

    /// SQL `LIMIT` to fetch: one more than the page, to learn whether another page follows.
    pub fn sql_limit(&self) -> u64 {
        self.first as u64 + 1
    }

    /// The page from rows fetched with [`sql_offset`](Self::sql_offset) and
    /// [`sql_limit`](Self::sql_limit).
    pub fn page_of_fetched<T>(&self, mut rows: Vec<T>) -> Page<T> {
        let has_next_page = rows.len() > self.first;
        rows.truncate(self.first);
        Page { items: rows, has_next_page, list: self.list, offset: self.offset }
    }

    /// The page out of a whole list already in memory.
    pub fn page_of_all<T>(&self, items: Vec<T>) -> Page<T> {
        let total = items.len();
        let items: Vec<T> = items.into_iter().skip(self.offset).take(self.first).collect();
        let has_next_page = self.offset.saturating_add(items.len()) < total;
        Page { items, has_next_page, list: self.list, offset: self.offset }
    }
}

/// One page of a list paged by position.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    list: List,
    offset: usize,
}

impl<T> Page<T> {
    /// The cursor of the item at `index` on this page (pass it as `after` to continue after it).
    pub fn cursor_of(&self, index: usize) -> String {
        encode(self.list, &(self.offset + index).to_string())
    }

    /// The cursor of the page's last item; `None` for an empty page.
    pub fn end_cursor(&self) -> Option<String> {
        self.items.len().checked_sub(1).map(|last| self.cursor_of(last))
    }

    /// The same page holding `items`: the page's own items, each turned into something else
    /// (one for one, in order, since cursors count positions). For conversions that need an
    /// `await`, which [`map`](Self::map) cannot take.
    pub fn with_items<U>(self, items: Vec<U>) -> Page<U> {
        Page { items, has_next_page: self.has_next_page, list: self.list, offset: self.offset }
    }

    /// The same page with each item turned into something else.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_next_page: self.has_next_page,
            list: self.list,
            offset: self.offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forged(text: &str) -> String {
        URL_SAFE_NO_PAD.encode(text)
    }

    #[test]
    fn page_size_defaults_to_twenty_and_refuses_out_of_range_values() {
        assert_eq!(page_size(None).ok(), Some(DEFAULT_PAGE_SIZE));
        assert_eq!(page_size(Some(0)).ok(), Some(0));
        assert_eq!(page_size(Some(50)).ok(), Some(50));
        assert!(page_size(Some(51)).is_err());
        assert!(page_size(Some(-1)).is_err());
        assert!(page_size(Some(i32::MIN)).is_err());
    }

    #[test]
    fn a_page_cursor_leads_to_the_next_page() {
        let all: Vec<u32> = (0..5).collect();
        let first = PageRequest::new(List::Accounts, Some(2), None).map(|r| r.page_of_all(all.clone()));
        let first = first.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(first.items, vec![0, 1]);
        assert!(first.has_next_page);
        let after = first.end_cursor();
        let second = PageRequest::new(List::Accounts, Some(2), after.as_deref()).map(|r| r.page_of_all(all.clone()));
        let second = second.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(second.items, vec![2, 3]);
        let after = second.end_cursor();
        let last = PageRequest::new(List::Accounts, Some(2), after.as_deref()).map(|r| r.page_of_all(all));
        let last = last.unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(last.items, vec![4]);
        assert!(!last.has_next_page);
    }

    #[test]
    fn fetched_rows_beyond_the_page_only_say_that_another_page_follows() {
        let request = PageRequest::new(List::Accounts, Some(2), None).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(request.sql_limit(), 3);
        let page = request.page_of_fetched(vec!['a', 'b', 'c']);
        assert_eq!(page.items, vec!['a', 'b']);
        assert!(page.has_next_page);
    }

    #[test]
    fn forged_overflowing_and_foreign_cursors_are_refused_as_bad_input() {
        let accounts_cursor = encode(List::Accounts, "3");
        for cursor in [
            forged("a1:9223372036854775807"),
            forged("a1:18446744073709551615"),
            forged("a1:99999999999999999999999"),
            forged("a1:-1"),
            forged("a1:+1"),
            forged("a1:"),
            forged("a1:1x"),
            forged("a13"),
            forged("a2:3"),
            "not a cursor".to_owned(),
            "%%%".to_owned(),
            "a".repeat(4096),
            encode(List::UrbanVillages, "3"),
        ] {
            let refused = PageRequest::new(List::Accounts, None, Some(&cursor));
            assert!(matches!(refused, Err(ApiError::BadInput { .. })), "{cursor} should be refused, got {refused:?}");
        }
        assert!(PageRequest::new(List::Accounts, None, Some(&accounts_cursor)).is_ok());
        assert!(
            PageRequest::new(List::Accounts, None, Some(&encode(List::Accounts, &MAX_POSITION.to_string()))).is_ok()
        );
    }

    #[test]
    fn payloads_only_come_out_of_their_own_list() {
        let cursor = encode(List::NearbyServices, "12:a:b");
        assert_eq!(payload(List::NearbyServices, &cursor).as_deref(), Some("12:a:b"));
        assert_eq!(payload(List::Accounts, &cursor), None);
    }
}
