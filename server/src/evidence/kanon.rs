//! k-anonymity for every figure derived from people (searches, referrals, feedback): the one
//! place that decides what may be shown. `docs/EVIDENCE.md` explains the rule in plain words.
//!
//! A table is a set of counts (cells) that add up to a total that is also published. The rule:
//!
//! 1. **Small cells are hidden** ("primary suppression"): a count of 1 to `K - 1` reads "< 5".
//!    Zero is shown: it speaks about nobody.
//! 2. **A total cannot reveal a hidden cell** ("complementary suppression"): when any cell is
//!    hidden, more cells are hidden with it, largest-last (the smallest shown non-zero cell
//!    first), until the hidden cells together cannot be split back into their parts. A reader
//!    knows the sum of the hidden cells (total minus shown), that a small cell is 1 to 4 and a
//!    complementary one at least `K`. With `s` small and `c ≥ 1` complementary cells hiding a sum
//!    `S`, the sharpest bound on one small cell is `S - (s - 1) - K·c`, so the hidden set is
//!    enough once `S ≥ K·c + s + (K - 2)`: that bound is then no sharper than "< 5".
//!    Without any complementary cell, two small cells of 4 (sum 8) would give each away.
//! 3. When no choice of cells is enough, the **total is hidden** instead, and then nothing can be
//!    subtracted.
//! 4. A total below `K` is hidden together with every non-zero cell.
//!
//! This guards one table against subtraction. Tables are kept from being played against each
//! other by publishing each count in one table only, over fixed periods (calendar months, only
//! once they are over), so two reports never differ by a few days' events.

/// The smallest number of people or events a published figure may rest on.
pub const K: u64 = 5;

/// Why a figure is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Hidden {
    /// It rests on fewer than [`K`] people or events: it reads "< 5".
    FewerThanK,
    /// It is large enough, but hidden so that a total minus the shown cells cannot reveal a
    /// small one.
    ProtectsAnother,
}

/// A figure as published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Figure {
    Shown(u64),
    Hidden(Hidden),
}

impl Figure {
    /// The number, when shown.
    pub fn value(self) -> Option<u64> {
        match self {
            Self::Shown(value) => Some(value),
            Self::Hidden(_) => None,
        }
    }

    pub fn hidden(self) -> Option<Hidden> {
        match self {
            Self::Shown(_) => None,
            Self::Hidden(why) => Some(why),
        }
    }

    /// The text a printed report or a CSV cell carries: the number, "< 5", or "隐藏 hidden".
    pub fn label(self) -> String {
        match self {
            Self::Shown(value) => value.to_string(),
            Self::Hidden(Hidden::FewerThanK) => format!("< {K}"),
            Self::Hidden(Hidden::ProtectsAnother) => "隐藏 hidden".to_owned(),
        }
    }
}

/// A table of counts and their total, as they may be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    pub cells: Vec<Figure>,
    pub total: Figure,
}

/// Applies the rule (module documentation) to `counts`, whose sum is published as the total.
pub fn protect(counts: &[u64]) -> Protected {
    let total: u64 = counts.iter().sum();
    let small = |count: u64| (1..K).contains(&count);
    if small(total) {
        let cells = counts
            .iter()
            .map(|count| if *count == 0 { Figure::Shown(0) } else { Figure::Hidden(Hidden::FewerThanK) })
            .collect();
        return Protected { cells, total: Figure::Hidden(Hidden::FewerThanK) };
    }
    let mut cells: Vec<Figure> = counts
        .iter()
        .map(|count| if small(*count) { Figure::Hidden(Hidden::FewerThanK) } else { Figure::Shown(*count) })
        .collect();
    let small_cells = cells.iter().filter(|cell| **cell == Figure::Hidden(Hidden::FewerThanK)).count() as u64;
    if small_cells == 0 {
        return Protected { cells, total: Figure::Shown(total) };
    }
    // Candidates for complementary hiding: shown non-zero cells, smallest first (ties by position,
    // so the choice is deterministic).
    let mut candidates: Vec<usize> = (0..counts.len()).filter(|i| counts[*i] >= K).collect();
    candidates.sort_by_key(|i| (counts[*i], *i));
    let mut hidden_sum: u64 = counts.iter().filter(|count| small(**count)).sum();
    let mut complementary = 0u64;
    let enough = |sum: u64, complementary: u64| complementary >= 1 && sum >= K * complementary + small_cells + (K - 2);
    for candidate in candidates {
        if enough(hidden_sum, complementary) {
            break;
        }
        cells[candidate] = Figure::Hidden(Hidden::ProtectsAnother);
        hidden_sum += counts[candidate];
        complementary += 1;
    }
    if enough(hidden_sum, complementary) {
        Protected { cells, total: Figure::Shown(total) }
    } else {
        // No set of cells suffices: hide the total, and show every cell of K or more again.
        let cells = counts
            .iter()
            .map(|count| if small(*count) { Figure::Hidden(Hidden::FewerThanK) } else { Figure::Shown(*count) })
            .collect();
        Protected { cells, total: Figure::Hidden(Hidden::ProtectsAnother) }
    }
}

/// One figure on its own (no total beside it): hidden under [`K`].
pub fn single(count: u64) -> Figure {
    if (1..K).contains(&count) { Figure::Hidden(Hidden::FewerThanK) } else { Figure::Shown(count) }
}

/// A rate (numerator over denominator, e.g. accepted over sent), shown only when both rest on at
/// least [`K`] events and the part left over does too (or is zero): otherwise "3 of 7 accepted"
/// would reveal that 4 were not.
pub fn rate(numerator: u64, denominator: u64) -> Option<f64> {
    let rest = denominator.saturating_sub(numerator);
    let fine = |count: u64| count == 0 || count >= K;
    (denominator >= K && fine(numerator) && fine(rest)).then(|| numerator as f64 / denominator as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Figure = Figure::Hidden(Hidden::FewerThanK);
    const OTHER: Figure = Figure::Hidden(Hidden::ProtectsAnother);

    /// Every value of each hidden cell that agrees with what is published (labels, shown cells,
    /// the total when shown), by brute force over small tables: no small cell is pinned down
    /// more tightly than "1 to 4".
    fn possible_values(published: &Protected, cell: usize, limit: u64) -> Vec<u64> {
        let hidden: Vec<usize> = (0..published.cells.len()).filter(|i| published.cells[*i].value().is_none()).collect();
        let shown: u64 = published.cells.iter().filter_map(|c| c.value()).sum();
        let range = |figure: Figure| match figure {
            Figure::Hidden(Hidden::FewerThanK) => 1..K,
            _ => K..limit,
        };
        let ranges: Vec<std::ops::Range<u64>> = hidden.iter().map(|h| range(published.cells[*h])).collect();
        let Some(at) = hidden.iter().position(|h| *h == cell) else { return Vec::new() };
        // Every assignment of the hidden cells, as an odometer over their ranges.
        let mut assignment: Vec<u64> = ranges.iter().map(|r| r.start).collect();
        let mut values = Vec::new();
        loop {
            let sum: u64 = assignment.iter().sum::<u64>() + shown;
            if published.total.value().is_none_or(|total| total == sum) && !values.contains(&assignment[at]) {
                values.push(assignment[at]);
            }
            let mut digit = 0;
            loop {
                if digit == assignment.len() {
                    values.sort_unstable();
                    return values;
                }
                assignment[digit] += 1;
                if assignment[digit] < ranges[digit].end {
                    break;
                }
                assignment[digit] = ranges[digit].start;
                digit += 1;
            }
        }
    }

    #[test]
    fn four_is_hidden_and_five_is_shown() {
        assert_eq!(single(4), SMALL);
        assert_eq!(single(5), Figure::Shown(5));
        assert_eq!(single(0), Figure::Shown(0));
        assert_eq!(SMALL.label(), "< 5");
    }

    #[test]
    fn a_lone_small_cell_takes_another_with_it_so_the_total_cannot_reveal_it() {
        let published = protect(&[4, 12, 30]);
        assert_eq!(published.cells, vec![SMALL, OTHER, Figure::Shown(30)]);
        assert_eq!(published.total, Figure::Shown(46));
        assert_eq!(possible_values(&published, 0, 40), vec![1, 2, 3, 4]);
    }

    #[test]
    fn two_small_cells_alone_would_give_each_other_away() {
        // 4 + 4 = 8 = total - shown: each would be exactly 4.
        let published = protect(&[4, 4, 20, 9]);
        assert_eq!(published.cells[..2], [SMALL, SMALL]);
        assert!(published.cells[2..].contains(&OTHER));
        assert_eq!(possible_values(&published, 0, 30), vec![1, 2, 3, 4]);
        assert_eq!(possible_values(&published, 1, 30), vec![1, 2, 3, 4]);
    }

    #[test]
    fn when_no_cell_can_protect_a_small_one_the_total_is_hidden() {
        let published = protect(&[1, 5]);
        assert_eq!(published.cells, vec![SMALL, Figure::Shown(5)]);
        assert_eq!(published.total, OTHER);
        let published = protect(&[3, 0]);
        assert_eq!(published.cells, vec![SMALL, Figure::Shown(0)]);
        assert_eq!(published.total, SMALL);
    }

    #[test]
    fn no_small_cell_is_ever_pinned_down_in_any_small_table() {
        for a in 0..12u64 {
            for b in 0..12u64 {
                for c in [0u64, 3, 5, 9] {
                    let counts = [a, b, c];
                    let published = protect(&counts);
                    for (i, cell) in published.cells.iter().enumerate() {
                        match cell {
                            Figure::Shown(value) => assert!(*value == 0 || *value >= K, "{counts:?}"),
                            Figure::Hidden(Hidden::FewerThanK) => {
                                assert_eq!(possible_values(&published, i, 40), vec![1, 2, 3, 4], "{counts:?}")
                            }
                            Figure::Hidden(Hidden::ProtectsAnother) => assert!(counts[i] >= K),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_rate_needs_k_events_on_each_side() {
        assert_eq!(rate(5, 10), Some(0.5));
        assert_eq!(rate(3, 10), None, "3 of 10 reveals a small group");
        assert_eq!(rate(7, 10), None, "the 3 left over are a small group");
        assert_eq!(rate(4, 4), None);
        assert_eq!(rate(6, 6), Some(1.0));
    }
}
