//! The language texts are answered in. Neutral ground: the HTTP layer reads it from
//! `Accept-Language`, the GraphQL layer from a `language` argument, and the directory sorts by
//! it; none of them owns it.
//!
//! `Language` derives the GraphQL enum itself (the contract's `Language`) so that there is one
//! definition of the two languages, not a copy per layer.

use async_graphql::Enum;

/// Language of text in responses. Pick it per field with a `language` argument on the query,
/// or for the whole request with the `Accept-Language` header; Chinese is the default.
#[derive(Enum, Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum Language {
    /// Simplified Chinese (zh-CN).
    #[default]
    Zh,
    /// English.
    En,
}

impl Language {
    /// The text in this language; English falls back to Chinese where a text has no English.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::En if !en.is_empty() => en,
            _ => zh,
        }
    }

    /// The text in this language, or `None` when there is none in either language.
    pub fn pick_opt(self, zh: Option<&str>, en: Option<&str>) -> Option<String> {
        match (zh, en) {
            (None, None) => None,
            (zh, en) => Some(self.pick(zh.unwrap_or_default(), en.unwrap_or_default()).to_owned()),
        }
    }

    /// The preferred language of an `Accept-Language` header: the highest-weighted of zh / en.
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(f32, Self)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or_default().trim().to_ascii_lowercase();
            let weight =
                pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            let language = if tag == "en" || tag.starts_with("en-") {
                Self::En
            } else if tag == "zh" || tag.starts_with("zh-") {
                Self::Zh
            } else {
                continue;
            };
            if best.is_none_or(|(w, _)| weight > w) {
                best = Some((weight, language));
            }
        }
        best.map(|(_, language)| language).unwrap_or_default()
    }
}

/// The request's language, from `Accept-Language`, stored in the request's data.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestLanguage(pub Language);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_highest_weighted_of_chinese_and_english() {
        assert_eq!(Language::from_accept_language("en-US,en;q=0.9"), Language::En);
        assert_eq!(Language::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"), Language::Zh);
        assert_eq!(Language::from_accept_language("fr, en;q=0.5"), Language::En);
        assert_eq!(Language::from_accept_language("fr"), Language::Zh);
        assert_eq!(Language::from_accept_language(""), Language::Zh);
    }
}
