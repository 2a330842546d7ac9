//! Analysis rules, one file per family. Each family implements [`Rule`]: it observes what
//! the engine shows it, keeps its own bounded state and turns it into
//! [`Finding`](crate::model::Finding)s; none reads a clock.
//!
//! Adding a family: a file here with a type implementing [`Rule`], and one line in
//! [`default_set`].

pub mod attack;
pub mod auth;
pub mod delivery;
pub mod dtmf;
pub mod e2e;
pub mod hygiene;
/// The short list holding its first item in place, now in [`crate::model::list`] (the
/// engine's SDP records and the NAT parties keep one too); re-exported for the rules.
pub mod list {
    pub use crate::model::list::List;
}
pub mod media;
pub mod nat;
pub mod quality;
pub mod stun;
pub mod tls;
pub mod transport;

use crate::engine::{Analyzer, Limits, Rule};

/// Every rule family, in the order their findings are gathered (ties in the final sort
/// keep this order).
pub fn default_set(limits: &Limits) -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(hygiene::MalformedRule::new(limits.max_malformed_findings)),
        Box::new(attack::AttackRule::new(&limits.rules)),
        Box::new(tls::TlsRule::new(&limits.rules)),
        Box::new(auth::AuthRule::new(&limits.rules)),
        Box::new(media::CallSecurityRule::default()),
        Box::new(dtmf::DtmfRule),
        Box::new(transport::CleartextHopRule::new(&limits.rules)),
        Box::new(stun::StunRule::new(&limits.rules)),
        Box::new(nat::NatRule),
        Box::new(hygiene::RetransmissionRule),
        Box::new(delivery::DeliveryRule::new(&limits.rules)),
        Box::new(quality::QualityRule::default()),
    ]
}

/// A key that orders addresses as [`std::net::IpAddr`]'s `Ord` does (every IPv4 address
/// before every IPv6 one, each by its bits), as plain integers: sorting a table of
/// addresses on it compares two words instead of two enums.
pub(crate) fn ip_order(ip: std::net::IpAddr) -> (u8, u128) {
    match ip {
        std::net::IpAddr::V4(v4) => (0, u128::from(u32::from(v4))),
        std::net::IpAddr::V6(v6) => (1, u128::from(v6)),
    }
}

/// An engine with `limits` and every rule family of [`default_set`] registered: what
/// the front ends run.
pub fn analyzer(limits: Limits) -> Analyzer {
    let mut an = Analyzer::new(limits.clone());
    for r in default_set(&limits) {
        an.add_rule(r);
    }
    an
}

#[cfg(test)]
mod tests {
    use crate::capture::Timestamp;
    use crate::engine::{Analyzer, Limits};
    use crate::model::{Finding, RuleId, Severity};

    /// [`super::ip_order`] orders addresses as `IpAddr`'s `Ord` does.
    #[test]
    fn ip_order_is_the_address_order() {
        let ips: Vec<std::net::IpAddr> = [
            "10.0.0.1",
            "10.0.0.2",
            "9.255.255.255",
            "0.0.0.0",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "fe80::1",
            "ffff::",
            "192.0.2.1",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        for a in &ips {
            for b in &ips {
                assert_eq!(
                    super::ip_order(*a).cmp(&super::ip_order(*b)),
                    a.cmp(b),
                    "{a} {b}"
                );
            }
        }
    }

    /// [`super::media::push_ip`] writes what `Display` writes.
    #[test]
    fn push_ip_is_display() {
        for a in [
            "0.0.0.0",
            "10.0.0.1",
            "255.255.255.255",
            "192.0.2.100",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "fe80::1:2:3:4",
        ] {
            let ip: std::net::IpAddr = a.parse().unwrap();
            let mut s = String::from("x");
            super::media::push_ip(&mut s, ip);
            assert_eq!(s, format!("x{ip}"));
        }
    }

    /// The report's order ([`Analyzer::findings`]) is the stable sort by severity (most
    /// severe first), time and first evidence frame, whatever the sort does inside: pinned
    /// on findings with many ties, times past the packed key's range included.
    #[test]
    fn findings_are_in_the_stable_sort_order() {
        let mut seed = 11u64;
        let mut next = |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        for late in [false, true] {
            let v: Vec<Finding> = (0..500u64)
                .map(|i| {
                    let sev = Severity::ALL[next(5) as usize];
                    let ts = if late && next(50) == 0 {
                        u64::MAX - next(3)
                    } else {
                        next(20)
                    };
                    let evidence = match next(4) {
                        0 => Vec::new(),
                        1 => vec![u64::MAX],
                        _ => vec![next(6), i],
                    };
                    Finding::new(RuleId("x"), sev, Timestamp(ts))
                        .summary(i.to_string())
                        .evidence(evidence)
                })
                .collect();
            let mut want = v.clone();
            want.sort_by(|a, b| {
                b.severity
                    .cmp(&a.severity)
                    .then(a.ts.cmp(&b.ts))
                    .then(a.evidence.first().cmp(&b.evidence.first()))
            });
            let mut an = Analyzer::new(Limits::default());
            an.add_findings(v);
            assert_eq!(an.findings(), want, "late={late}");
        }
    }
}
