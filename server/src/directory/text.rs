//! Text search over service names, organisation names and category labels.
//!
//! Chinese is written without spaces, so words cannot be split reliably without a dictionary.
//! Instead every run of CJK characters is indexed by character bigrams (and single characters):
//! a query `法律` looks up the bigram 法律, a query `法律援助` intersects 法律 ∩ 律援 ∩ 援助, and
//! the survivors are confirmed by a substring check. Latin text (English, pinyin, digits) is
//! split into lowercase words matched by prefix, so `lib` finds "Library". Every query term must
//! match (AND).

use std::collections::{BTreeMap, HashMap};

/// Dense document number (the index of a service in the directory).
pub type DocId = u32;

#[derive(Debug, Clone, Default)]
pub struct TextIndex {
    /// Normalised Chinese text of each document, for the confirming substring check.
    documents: Vec<String>,
    /// CJK unigram and bigram → sorted document ids.
    grams: HashMap<String, Vec<DocId>>,
    /// Latin words, each with its sorted document ids (a range finds prefixes).
    words: BTreeMap<String, Vec<DocId>>,
}

impl TextIndex {
    /// Builds the index; `documents[i]` is all searchable text of document `i`.
    pub fn build(documents: &[String]) -> Self {
        let mut index = Self::default();
        for (id, text) in documents.iter().enumerate() {
            index.insert(id as DocId, text);
        }
        index
    }

    /// Adds document `id` (which must not be in the index). Cheapest in increasing id order, as
    /// when the index is built; a patch inserts in the middle of the postings it touches.
    pub fn insert(&mut self, id: DocId, text: &str) {
        let text = normalise(text);
        for run in cjk_runs(&text) {
            for gram in grams_of(&run) {
                add_posting(self.grams.entry(gram).or_default(), id);
            }
        }
        for word in latin_words(&text) {
            add_posting(self.words.entry(word).or_default(), id);
        }
        let slot = id as usize;
        if self.documents.len() <= slot {
            self.documents.resize(slot + 1, String::new());
        }
        self.documents[slot] = text;
    }

    /// Gives back the room postings grew into while the index was built.
    pub fn shrink_to_fit(&mut self) {
        self.grams.values_mut().chain(self.words.values_mut()).for_each(Vec::shrink_to_fit);
        self.grams.shrink_to_fit();
        self.documents.shrink_to_fit();
    }

    /// Takes document `id` out of every posting it is in.
    pub fn remove(&mut self, id: DocId) {
        let Some(text) = self.documents.get_mut(id as usize).map(std::mem::take) else { return };
        for run in cjk_runs(&text) {
            for gram in grams_of(&run) {
                if let Some(postings) = self.grams.get_mut(&gram) {
                    remove_posting(postings, id);
                    if postings.is_empty() {
                        self.grams.remove(&gram);
                    }
                }
            }
        }
        for word in latin_words(&text) {
            if let Some(postings) = self.words.get_mut(&word) {
                remove_posting(postings, id);
                if postings.is_empty() {
                    self.words.remove(&word);
                }
            }
        }
    }

    /// The documents matching every term of `query`, sorted; `None` when the query has no
    /// searchable term (then it filters nothing).
    pub fn search(&self, query: &str) -> Option<Vec<DocId>> {
        let query = normalise(query);
        let mut result: Option<Vec<DocId>> = None;
        for run in cjk_runs(&query) {
            let matches = self.search_cjk(&run);
            result = Some(match result {
                None => matches,
                Some(previous) => intersect(&previous, &matches),
            });
        }
        for word in latin_words(&query) {
            let matches = self.search_word_prefix(&word);
            result = Some(match result {
                None => matches,
                Some(previous) => intersect(&previous, &matches),
            });
        }
        result
    }

    fn search_cjk(&self, run: &str) -> Vec<DocId> {
        let mut candidates: Option<Vec<DocId>> = None;
        for gram in query_grams(run) {
            let postings = self.grams.get(&gram).map(Vec::as_slice).unwrap_or_default();
            candidates = Some(match candidates {
                None => postings.to_vec(),
                Some(previous) => intersect(&previous, postings),
            });
            if candidates.as_ref().is_some_and(Vec::is_empty) {
                return Vec::new();
            }
        }
        let candidates = candidates.unwrap_or_default();
        if run.chars().count() <= 2 {
            return candidates; // a unigram or bigram posting is already exact
        }
        candidates.into_iter().filter(|id| self.documents[*id as usize].contains(run)).collect()
    }

    fn search_word_prefix(&self, prefix: &str) -> Vec<DocId> {
        let mut ids: Vec<DocId> = self
            .words
            .range(prefix.to_owned()..)
            .take_while(|(word, _)| word.starts_with(prefix))
            .flat_map(|(_, postings)| postings.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Lowercases and folds full-width ASCII (ＡＢＣ１２３, common from Chinese keyboards) to ASCII.
pub fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Maximal runs of CJK characters.
fn cjk_runs(text: &str) -> Vec<String> {
    let mut runs = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if is_cjk(c) {
            current.push(c);
        } else if !current.is_empty() {
            runs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

/// Lowercase ASCII-alphanumeric words.
fn latin_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric()).filter(|word| !word.is_empty()).map(str::to_owned).collect()
}

/// Every unigram and bigram of a run (what the index stores).
fn grams_of(run: &str) -> Vec<String> {
    let chars: Vec<char> = run.chars().collect();
    let mut grams: Vec<String> = chars.iter().map(|c| c.to_string()).collect();
    grams.extend(chars.windows(2).map(|pair| pair.iter().collect()));
    grams
}

/// The grams a query run is looked up by: its bigrams, or the character itself when alone.
fn query_grams(run: &str) -> Vec<String> {
    let chars: Vec<char> = run.chars().collect();
    if chars.len() == 1 {
        return vec![run.to_owned()];
    }
    chars.windows(2).map(|pair| pair.iter().collect()).collect()
}

fn add_posting(postings: &mut Vec<DocId>, id: DocId) {
    if let Err(position) = postings.binary_search(&id) {
        postings.insert(position, id);
    }
}

fn remove_posting(postings: &mut Vec<DocId>, id: DocId) {
    if let Ok(position) = postings.binary_search(&id) {
        postings.remove(position);
    }
}

/// Intersection of two sorted id lists.
fn intersect(a: &[DocId], b: &[DocId]) -> Vec<DocId> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> TextIndex {
        TextIndex::build(&[
            "闵行区法律援助中心 Minhang District Legal Aid Centre".to_owned(),
            "T村社区图书室 T village community library".to_owned(),
            "外来务工人员社会保险讲座 Social insurance lectures".to_owned(),
        ])
    }

    #[test]
    fn chinese_is_found_without_spaces() {
        let index = index();
        assert_eq!(index.search("法律"), Some(vec![0]));
        assert_eq!(index.search("法律援助"), Some(vec![0]));
        assert_eq!(index.search("图书"), Some(vec![1]));
        assert_eq!(index.search("书"), Some(vec![1]));
        // Both bigrams occur, but not as one phrase.
        assert_eq!(index.search("援助法律"), Some(vec![]));
    }

    #[test]
    fn english_words_match_by_prefix_in_any_case() {
        let index = index();
        assert_eq!(index.search("legal aid"), Some(vec![0]));
        assert_eq!(index.search("LIB"), Some(vec![1]));
        assert_eq!(index.search("ｌｅｇａｌ"), Some(vec![0]));
        assert_eq!(index.search("legal library"), Some(vec![]));
    }

    #[test]
    fn a_removed_and_reinserted_document_is_found_by_its_new_text_only() {
        let mut index = index();
        index.remove(0);
        assert_eq!(index.search("法律"), Some(vec![]));
        assert_eq!(index.search("legal"), Some(vec![]));
        index.insert(0, "劳动争议调解 Labour disputes");
        assert_eq!(index.search("争议"), Some(vec![0]));
        assert_eq!(index.search("lab"), Some(vec![0]));
        assert_eq!(index.search("lib"), Some(vec![1]));
        index.insert(7, "法律 library");
        assert_eq!(index.search("lib"), Some(vec![1, 7]));
    }

    #[test]
    fn a_query_without_searchable_terms_filters_nothing() {
        assert_eq!(index().search("  ,,, "), None);
    }
}
