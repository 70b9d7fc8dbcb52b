//! Listing urban villages: which villages a city has and in what order, for the paged
//! `urbanVillages` list (the GraphQL layer only pages and formats).

use super::index::Directory;
use crate::language::Language;

impl Directory {
    /// Positions in `self.villages` of the villages of `city` (the start of its Chinese name, or
    /// of its English name in any case; every village when `None`), ordered by name in
    /// `language`, then by id so that equal names keep a stable order across pages.
    pub fn villages_of_city(&self, city: Option<&str>, language: Language) -> Vec<usize> {
        let wanted = city.map(str::trim).map(str::to_lowercase);
        let mut matching: Vec<usize> = (0..self.villages.len())
            .filter(|i| {
                let village = &self.villages[*i];
                wanted.as_deref().is_none_or(|city| {
                    village.city_zh.starts_with(city) || village.city_en.to_lowercase().starts_with(city)
                })
            })
            .collect();
        matching.sort_by(|a, b| {
            let (a, b) = (&self.villages[*a], &self.villages[*b]);
            language.pick(&a.name_zh, &a.name_en).cmp(language.pick(&b.name_zh, &b.name_en)).then(a.id.cmp(&b.id))
        });
        matching
    }
}
