//! Failed log-ins: an account is locked after `lock_after` consecutive
//! failures for `lock_for`; an address is refused after `address_failures`
//! failures within `lock_for`. A success clears the account's count.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Why a log-in attempt is refused before the password is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The account is locked for this long.
    AccountLocked(Duration),
    /// The address is refused for this long.
    AddressLocked(Duration),
}

#[derive(Debug, Default)]
struct Counts {
    accounts: HashMap<String, (u32, Option<Instant>)>,
    addresses: HashMap<IpAddr, Vec<Instant>>,
}

/// Counts of failed log-ins.
#[derive(Debug)]
pub struct Limiter {
    counts: Mutex<Counts>,
    lock_after: u32,
    lock_for: Duration,
    address_failures: u32,
}

impl Limiter {
    /// A limiter with these thresholds.
    pub fn new(lock_after: u32, lock_for: Duration, address_failures: u32) -> Self {
        Self {
            counts: Mutex::new(Counts::default()),
            lock_after: lock_after.max(1),
            lock_for,
            address_failures: address_failures.max(1),
        }
    }

    /// Whether an attempt may be checked now.
    pub fn check(&self, account: &str, addr: IpAddr) -> Result<(), Refusal> {
        let now = Instant::now();
        let Ok(mut c) = self.counts.lock() else {
            return Ok(());
        };
        if let Some(times) = c.addresses.get_mut(&addr) {
            times.retain(|t| now - *t < self.lock_for);
            if times.len() as u32 >= self.address_failures {
                let oldest = times.first().copied().unwrap_or(now);
                return Err(Refusal::AddressLocked(self.lock_for - (now - oldest)));
            }
        }
        if let Some((_, Some(until))) = c.accounts.get(account) {
            if *until > now {
                return Err(Refusal::AccountLocked(*until - now));
            }
        }
        Ok(())
    }

    /// Records a failure; true when it locked the account.
    pub fn failed(&self, account: &str, addr: IpAddr) -> bool {
        let now = Instant::now();
        let Ok(mut c) = self.counts.lock() else {
            return false;
        };
        c.addresses.entry(addr).or_default().push(now);
        let e = c.accounts.entry(account.to_string()).or_default();
        if e.1.is_some_and(|u| u <= now) {
            *e = (0, None);
        }
        e.0 += 1;
        if e.0 >= self.lock_after && e.1.is_none() {
            e.1 = Some(now + self.lock_for);
            return true;
        }
        false
    }

    /// Records a success.
    pub fn succeeded(&self, account: &str) {
        if let Ok(mut c) = self.counts.lock() {
            c.accounts.remove(account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_lock_after_the_count_and_addresses_after_theirs() {
        let l = Limiter::new(3, Duration::from_secs(60), 5);
        let a: IpAddr = [127, 0, 0, 1].into();
        assert!(!l.failed("u", a));
        assert!(!l.failed("u", a));
        assert!(l.check("u", a).is_ok());
        assert!(l.failed("u", a), "third failure locks");
        assert!(matches!(l.check("u", a), Err(Refusal::AccountLocked(_))));
        assert!(l.check("v", a).is_ok(), "other accounts are not locked");
        l.failed("v", a);
        l.failed("w", a);
        assert!(matches!(l.check("x", a), Err(Refusal::AddressLocked(_))));
        let b: IpAddr = [127, 0, 0, 2].into();
        assert!(l.check("x", b).is_ok());
        l.succeeded("x");
    }
}
