//! `scan.enumeration`: one source trying many user names (svwar style).

use super::*;

/// `scan.enumeration`: the densest window of user names that all failed.
pub(super) fn enumeration(
    ip: IpAddr,
    s: &SourceState,
    th: &Thresholds,
    methods: &str,
    ua: &str,
) -> Option<(usize, Finding)> {
    let mut users: Vec<(&[u8], &UserTry)> = s
        .users
        .iter()
        .filter(|(_, u)| u.first_final.is_some())
        .map(|(k, u)| (&**k, u))
        .collect();
    users.sort_by_key(|(k, u)| (u.ts, u.frame, *k));
    let probed: Vec<&(&[u8], &UserTry)> =
        users.iter().filter(|(_, u)| !u.ok && u.all_fail).collect();
    let times: Vec<Timestamp> = probed.iter().map(|(_, u)| u.ts).collect();
    let (n, i, j) = densest(&times, th.enum_window);
    let win = probed.get(i..=j).unwrap_or_default();
    let answered_in_window = match (win.first(), win.last()) {
        (Some(a), Some(b)) => users
            .iter()
            .filter(|(_, u)| u.ts >= a.1.ts && u.ts <= b.1.ts)
            .count(),
        _ => 0,
    };
    // A trunk whose calls mostly succeed is not guessing names, even if some fail.
    if n >= th.enum_users && n * 2 >= answered_in_window {
        let status = |u: &UserTry| {
            if u.ok {
                200
            } else {
                u.first_final.unwrap_or(0)
            }
        };
        let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
        for (_, u) in &users {
            *counts.entry(status(u)).or_insert(0) += 1;
        }
        let majority = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map_or(0, |(k, _)| *k);
        let name = |k: &[u8]| format!("'{}'", String::from_utf8_lossy(k));
        let tried = win
            .iter()
            .take(MAX_LISTED)
            .map(|(k, _)| name(k))
            .collect::<Vec<_>>()
            .join(", ");
        let exist: Vec<String> = users
            .iter()
            .filter(|(_, u)| status(u) != majority)
            .take(MAX_LISTED)
            .map(|(k, u)| format!("{} ({})", name(k), status(u)))
            .collect();
        let exist = if exist.is_empty() {
            "none stands out".to_string()
        } else {
            exist.join(", ")
        };
        let first = win.first();
        return Some((
            n,
            Finding::new(
                SCAN_ENUMERATION,
                Severity::High,
                first.map_or(Timestamp(0), |(_, u)| u.ts),
            )
            .flow_opt(Some(s.first_src), s.targets.first().map(|t| t.addr))
            .summary(format!(
                "{ip} tried {n} user names that drew {}, e.g. {tried}{}; \
                 likely existing (answer differs from the usual {majority}): {exist}; \
                 methods {methods}{ua}",
                tally(
                    win.iter()
                        .map(|(_, u)| u.first_final.map_or("?".to_string(), |c| c.to_string()))
                ),
                if n > MAX_LISTED { ", ..." } else { "" },
            ))
            .evidence(
                win.iter()
                    .map(|(_, u)| u.frame)
                    .take(MAX_EVIDENCE)
                    .collect(),
            )
            .advice(
                "Someone is enumerating extensions (svwar style) to find accounts to attack: \
                     block the source, answer unknown users exactly like known ones (Asterisk \
                     alwaysauthreject=yes, Kamailio: same 401 for all), and use extension names \
                     that are not short numbers.",
            ),
        ));
    }
    None
}
