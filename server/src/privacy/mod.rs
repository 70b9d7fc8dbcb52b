//! Guarding personal data (PIPL): sealing values at rest ([`crypto`]), the hash-chained audit
//! trail of every access ([`audit`]), and replay-safe mutations for phones that retry
//! ([`idempotency`]). The client, consent and referral modules build on these; nothing here knows
//! what a referral is.

pub mod audit;
pub mod crypto;
pub mod idempotency;

/// Masks a phone number for lists: `139****5678` (the first three and last four digits of a
/// mobile number; shorter numbers keep less).
pub fn mask_phone(phone: &str) -> String {
    let mut digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    // +86 139… : the country code is not part of what a person recognises.
    if digits.len() == 13 && digits.starts_with(&['8', '6']) {
        digits.drain(..2);
    }
    match digits.len() {
        n if n >= 11 => {
            let head: String = digits[..3].iter().collect();
            let tail: String = digits[n - 4..].iter().collect();
            format!("{head}****{tail}")
        }
        n if n >= 6 => {
            let tail: String = digits[n - 2..].iter().collect();
            format!("{}{tail}", "*".repeat(n - 2))
        }
        n => "*".repeat(n),
    }
}

/// Masks a display name for lists: the first character, then `*` (e.g. `演**`, `D***`).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => format!("{first}{}", "*".repeat(chars.count().clamp(1, 3))),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_names_are_masked() {
        assert_eq!(mask_phone("13912345678"), "139****5678");
        assert_eq!(mask_phone("+86 139 1234 5678"), "139****5678");
        assert_eq!(mask_phone("021-64001234"), "021****1234");
        assert_eq!(mask_phone("12348"), "*****");
        assert_eq!(mask_name("演示客户"), "演***");
        assert_eq!(mask_name("Li"), "L*");
    }
}
