//! In-memory fixed-window rate limits: a generous one for every GraphQL request and stricter
//! ones for what a script would repeat (sign-in and registration, edit suggestions, referral-code
//! look-ups).
//!
//! Who is counted: a signed-in caller by account id; an anonymous one by network address, IPv4
//! whole and IPv6 by its /64 (a subscriber's usual allocation, which it can rotate through
//! freely). The address is the TCP peer's, or with the peer in `QIAO_TRUSTED_PROXIES` the
//! rightmost `X-Forwarded-For` hop that is not a trusted proxy: anyone else can write that header.
//!
//! Keys live only in memory and only for their window; nothing is logged or written anywhere.
//! Each limiter holds at most a configured number of keys, so a flood of addresses costs bounded
//! memory (the oldest window gives way). With several replicas each keeps its own count, which is
//! good enough to stop a script, not a distributed attack (that belongs at the load balancer).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{ApiError, ApiResult};

/// Default most keys one limiter holds (about 10 MiB at worst).
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// Retry hint for a refusal that no limiter timed (the password-hashing queue was full).
pub const DEFAULT_RETRY_AFTER_SECONDS: u64 = 5;

pub struct RateLimiter {
    limit: u32,
    window: Duration,
    max_keys: usize,
    windows: Mutex<Windows>,
}

#[derive(Default)]
struct Windows {
    counts: HashMap<String, (Instant, u32)>,
    /// Every key in `counts` once, with its window's start, oldest first.
    opened: VecDeque<(Instant, String)>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self::with_max_keys(limit, window, DEFAULT_MAX_KEYS)
    }

    /// A limiter that forgets the oldest key rather than hold more than `max_keys`.
    pub fn with_max_keys(limit: u32, window: Duration, max_keys: usize) -> Self {
        Self { limit, window, max_keys: max_keys.max(1), windows: Mutex::new(Windows::default()) }
    }

    /// Counts one request for `key`; false when the key is over its limit in this window.
    pub fn allow(&self, key: &str) -> bool {
        self.check(key).is_ok()
    }

    /// Counts one request for `key`; over the limit, how long until its window ends.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Windows { counts, opened } = &mut *windows;
        // Windows open in time order, so the ended ones are at the front.
        while opened.front().is_some_and(|(start, _)| now.duration_since(*start) >= self.window) {
            if let Some((start, old)) = opened.pop_front()
                && counts.get(&old).is_some_and(|(current, _)| *current == start)
            {
                counts.remove(&old);
            }
        }
        if let Some((start, count)) = counts.get_mut(key) {
            *count = count.saturating_add(1);
            let left = self.window.saturating_sub(now.duration_since(*start));
            return if *count <= self.limit { Ok(()) } else { Err(left) };
        }
        // At capacity the oldest window gives way (that key starts afresh): a flood of new
        // addresses then costs a bounded map instead of memory without end.
        while counts.len() >= self.max_keys {
            let Some((_, old)) = opened.pop_front() else { break };
            counts.remove(&old);
        }
        counts.insert(key.to_owned(), (now, 1));
        opened.push_back((now, key.to_owned()));
        if self.limit >= 1 { Ok(()) } else { Err(self.window) }
    }

    #[cfg(test)]
    fn keys(&self) -> usize {
        self.windows.lock().map(|w| w.counts.len()).unwrap_or_default()
    }
}

/// The address a limit counts: IPv4 whole, IPv6 by its /64 (an IPv4-mapped IPv6 address as the
/// IPv4 address it is).
pub fn grouped(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u128::from(u64::MAX)))),
        },
    }
}

/// A network in CIDR notation (`10.0.0.0/8`, `fd00::/8`; a bare address is a single host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            IpAddr::V4(_) => address,
        };
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (address, prefix) = text.split_once('/').map_or((text, None), |(a, p)| (a, Some(p)));
        let network: IpAddr = address.parse().map_err(|_| format!("{text:?} is not an address or CIDR"))?;
        let most = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => most,
            Some(p) => {
                p.parse::<u8>().ok().filter(|p| *p <= most).ok_or_else(|| format!("{text:?} has a bad prefix"))?
            }
        };
        Ok(Self { network, prefix })
    }
}

/// The client's address: the TCP peer, or, when the peer is a trusted proxy, the rightmost
/// `X-Forwarded-For` hop that is not one (hops to the left of it are the client's to invent).
pub fn client_address<'a>(
    peer: Option<IpAddr>,
    forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    trusted_proxies: &[Cidr],
) -> Option<IpAddr> {
    let mut client = peer?;
    let trusted = |address: IpAddr| trusted_proxies.iter().any(|cidr| cidr.contains(address));
    if !trusted(client) {
        return Some(client);
    }
    for hop in forwarded_for.rev().flat_map(|header| header.split(',').rev()) {
        let hop = hop.trim();
        // A garbled hop was written by a misconfigured proxy: count the request against the
        // last address we can vouch for.
        let Some(address) = hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        else {
            break;
        };
        client = address;
        if !trusted(client) {
            break;
        }
    }
    Some(client)
}

/// Whom a request counts against, with room for the retry hint of a refusal. The HTTP layer puts
/// one into every GraphQL request.
#[derive(Debug, Clone)]
pub struct RequestClient {
    key: String,
    retry_after_seconds: Arc<AtomicU64>,
}

impl RequestClient {
    /// A signed-in caller by account id, an anonymous one by grouped address.
    pub fn new(account_id: Option<&str>, address: Option<IpAddr>) -> Self {
        let key = match (account_id, address) {
            (Some(account_id), _) => format!("account:{account_id}"),
            (None, Some(address)) => format!("address:{}", grouped(address)),
            (None, None) => "address:unknown".to_owned(),
        };
        Self { key, retry_after_seconds: Arc::new(AtomicU64::new(0)) }
    }

    /// Counts this request against `limiter`: RATE_LIMITED (noting when to retry) beyond it.
    pub fn check(&self, limiter: &RateLimiter) -> ApiResult<()> {
        limiter.check(&self.key).map_err(|left| {
            self.retry_after_seconds.fetch_max(whole_seconds(left), Ordering::Relaxed);
            ApiError::RateLimited
        })
    }

    /// When a refused request may be retried: the refusing limiter's hint, or a default.
    pub fn retry_after_seconds(&self) -> u64 {
        match self.retry_after_seconds.load(Ordering::Relaxed) {
            0 => DEFAULT_RETRY_AFTER_SECONDS,
            seconds => seconds,
        }
    }
}

/// Whole seconds, rounded up and at least one, as `Retry-After` wants them.
pub fn whole_seconds(duration: Duration) -> u64 {
    (duration.as_secs() + u64::from(duration.subsec_nanos() > 0)).max(1)
}

/// Counts the current GraphQL request against `limiter` (RATE_LIMITED beyond it).
pub fn check(ctx: &async_graphql::Context<'_>, limiter: &RateLimiter) -> ApiResult<()> {
    match ctx.data_opt::<RequestClient>() {
        Some(client) => client.check(limiter),
        None => RequestClient::new(None, None).check(limiter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_after_its_limit_and_others_are_not() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        assert!(limiter.allow("a") && limiter.allow("a"));
        assert!(!limiter.allow("a"));
        assert!(limiter.allow("b"));
    }

    #[test]
    fn a_refusal_says_how_long_until_the_window_ends() {
        let limiter = RateLimiter::new(1, Duration::from_secs(60));
        let start = Instant::now();
        assert!(limiter.check_at("a", start).is_ok());
        assert_eq!(limiter.check_at("a", start + Duration::from_secs(20)), Err(Duration::from_secs(40)));
        assert!(limiter.check_at("a", start + Duration::from_secs(60)).is_ok(), "a new window");
        assert_eq!(whole_seconds(Duration::from_millis(40_001)), 41);
        assert_eq!(whole_seconds(Duration::ZERO), 1);
    }

    #[test]
    fn the_limiter_holds_at_most_its_keys_and_forgets_the_oldest_first() {
        let limiter = RateLimiter::with_max_keys(1, Duration::from_secs(60), 3);
        let start = Instant::now();
        for (i, key) in ["a", "b", "c"].into_iter().enumerate() {
            assert!(limiter.check_at(key, start + Duration::from_secs(i as u64)).is_ok());
        }
        assert!(limiter.check_at("b", start + Duration::from_secs(3)).is_err());
        assert!(limiter.check_at("d", start + Duration::from_secs(4)).is_ok());
        assert_eq!(limiter.keys(), 3);
        // "a" was evicted and starts afresh; "b" and "c" are still counted.
        assert!(limiter.check_at("a", start + Duration::from_secs(5)).is_ok());
        assert_eq!(limiter.keys(), 3);
        assert!(limiter.check_at("c", start + Duration::from_secs(6)).is_err());
        assert!(limiter.check_at("d", start + Duration::from_secs(6)).is_err());
    }

    #[test]
    fn ended_windows_are_forgotten() {
        let limiter = RateLimiter::with_max_keys(5, Duration::from_secs(60), 100);
        let start = Instant::now();
        for i in 0..50 {
            assert!(limiter.check_at(&format!("k{i}"), start).is_ok());
        }
        assert!(limiter.check_at("late", start + Duration::from_secs(61)).is_ok());
        assert_eq!(limiter.keys(), 1);
    }

    #[test]
    fn ipv6_addresses_are_grouped_by_their_64_and_ipv4_is_kept_whole() {
        let ip = |text: &str| text.parse::<IpAddr>().ok();
        let group = |text: &str| ip(text).map(grouped);
        assert_eq!(group("2001:db8:1:2::1"), group("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_eq!(group("2001:db8:1:2::1"), ip("2001:db8:1:2::"));
        assert_ne!(group("2001:db8:1:2::1"), group("2001:db8:1:3::1"));
        assert_eq!(group("203.0.113.7"), ip("203.0.113.7"));
        assert_ne!(group("203.0.113.7"), group("203.0.113.8"));
        assert_eq!(group("::ffff:203.0.113.7"), ip("203.0.113.7"));
    }

    #[test]
    fn cidrs_parse_and_match() {
        let cidr = |text: &str| text.parse::<Cidr>();
        let ip = |text: &str| text.parse::<IpAddr>().unwrap_or(IpAddr::V4(0.into()));
        let private = cidr("10.0.0.0/8").ok();
        assert!(private.is_some_and(|c| c.contains(ip("10.200.1.1")) && !c.contains(ip("11.0.0.1"))));
        assert!(cidr("127.0.0.1").is_ok_and(|c| c.contains(ip("127.0.0.1")) && c.contains(ip("::ffff:127.0.0.1"))));
        assert!(cidr("fd00::/8").is_ok_and(|c| c.contains(ip("fd12::1")) && !c.contains(ip("10.0.0.1"))));
        assert!(cidr("0.0.0.0/0").is_ok_and(|c| c.contains(ip("8.8.8.8"))));
        for bad in ["10.0.0.0/33", "nonsense", "::/129", "10.0.0.0/x"] {
            assert!(cidr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let ip = |text: &str| text.parse::<IpAddr>().ok();
        let trusted = ["10.0.0.0/8".parse::<Cidr>()].into_iter().flatten().collect::<Vec<_>>();
        let peer_proxy = ip("10.0.0.2");
        let peer_stranger = ip("198.51.100.9");
        let headers = ["6.6.6.6, 203.0.113.5", "10.0.0.7"];
        // The client is the rightmost hop no trusted proxy wrote; what it claims left of that is ignored.
        assert_eq!(client_address(peer_proxy, headers.into_iter(), &trusted), ip("203.0.113.5"));
        assert_eq!(client_address(peer_stranger, headers.into_iter(), &trusted), peer_stranger);
        assert_eq!(client_address(peer_proxy, headers.into_iter(), &[]), peer_proxy);
        assert_eq!(client_address(peer_proxy, ["[2001:db8::1]:443"].into_iter(), &trusted), ip("2001:db8::1"));
        assert_eq!(client_address(peer_proxy, ["garbage"].into_iter(), &trusted), peer_proxy);
        assert_eq!(client_address(peer_proxy, std::iter::empty(), &trusted), peer_proxy);
        assert_eq!(client_address(None, headers.into_iter(), &trusted), None);
    }
}
