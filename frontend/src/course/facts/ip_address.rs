//! IP addresses as a learner types them, for lesson 16: the text read into an IPv4 or IPv6
//! `Address`, every error said in words (two `::`, 9 groups, a group over ffff, an octet over 255,
//! a leading zero with inet_aton's octal reading, zones, brackets); IPv6's canonical text form (RFC
//! 5952) built rule by rule so each step can be shown (`canonical_steps` applies 4.1, 4.2, 4.3 and
//! 5 one after another); and what kind of address it is (`kinds`: the special-purpose ranges, each
//! with the RFC that sets it aside). Pure; the standard library's parser and `Display` are only
//! used in the tests (`ip_address_tests`), to cross-check the rules done here by hand.

mod kinds;

pub(crate) use kinds::{Kind, kinds};

/// An address as parsed: four octets, or eight 16-bit groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Address {
    V4([u8; 4]),
    V6([u16; 8]),
}

/// Reads an address the way a person types it: IPv4 as four decimal numbers with dots, IPv6
/// as up to eight hex groups with colons, at most one `::`, and an optional dotted IPv4 tail.
/// The error says what is wrong in a sentence a newcomer can act on.
pub(crate) fn parse(text: &str) -> Result<Address, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Type an address, for example 192.168.1.10 or 2001:db8::1.".to_owned());
    }
    if text.starts_with('[') || text.ends_with(']') {
        return Err("Square brackets go around an IPv6 address only when a port follows, as in [::1]:80. Type the address alone, without brackets.".to_owned());
    }
    if let Some((_, zone)) = text.split_once('%') {
        return Err(format!(
            "\"%{zone}\" is a zone index (which network interface a link-local address is on), not part of the address. Type the address without it."
        ));
    }
    if text.contains(':') {
        parse_v6(text).map(Address::V6)
    } else if text.contains('.') {
        parse_v4(text).map(Address::V4)
    } else {
        Err(format!(
            "\"{text}\" has neither dots (IPv4: 192.0.2.1) nor colons (IPv6: 2001:db8::1). Some old tools read a bare number as a 32-bit address, but that is not a form to write."
        ))
    }
}

/// Four decimal octets. Leading zeros are refused, as the standard library and
/// `inet_pton` refuse them: the older `inet_aton` reads `010` as octal (8), so `010.0.0.1`
/// means 8.0.0.1 to some programs and 10.0.0.1 to others.
pub(crate) fn parse_v4(text: &str) -> Result<[u8; 4], String> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.len() != 4 {
        return Err(format!(
            "An IPv4 address is four numbers separated by three dots; \"{text}\" has {} number{}.",
            parts.len(),
            if parts.len() == 1 { "" } else { "s" }
        ));
    }
    let mut octets = [0u8; 4];
    for (i, part) in parts.iter().enumerate() {
        let which = ORDINALS[i];
        if part.is_empty() {
            return Err(format!(
                "The {which} number is missing (two dots in a row, or a dot at an end)."
            ));
        }
        if let Some(bad) = part.chars().find(|c| !c.is_ascii_digit()) {
            return Err(format!(
                "'{bad}' in \"{part}\": IPv4 numbers are decimal digits only (0-9)."
            ));
        }
        if part.len() > 1 && part.starts_with('0') {
            return Err(format!(
                "\"{part}\", the {which} number, has a leading zero. Write it as {}: some programs read a leading 0 as octal (010 is 8 to inet_aton), so the address would be ambiguous.",
                part.trim_start_matches('0').parse::<u32>().unwrap_or(0)
            ));
        }
        match part.parse::<u32>() {
            Ok(value) if value <= 255 => octets[i] = value as u8,
            _ => {
                return Err(format!(
                    "{part}, the {which} number, is more than 255: each number is one octet (8 bits), 0 to 255."
                ));
            }
        }
    }
    Ok(octets)
}

const ORDINALS: [&str; 8] = [
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
];

/// Up to eight hex groups; one `::` stands for one or more zero groups (RFC 4291 section
/// 2.2); the last 32 bits may be written as a dotted IPv4 address.
pub(crate) fn parse_v6(text: &str) -> Result<[u16; 8], String> {
    if text.contains(":::") {
        return Err("Three colons in a row: write :: (two colons) for the zero groups.".to_owned());
    }
    let doubles = text.matches("::").count();
    if doubles > 1 {
        return Err(format!(
            "\"::\" appears {doubles} times. It may appear only once: with two, nobody could tell how many zero groups each one stands for."
        ));
    }
    let (head, tail) = match text.split_once("::") {
        Some((head, tail)) => (head, Some(tail)),
        None => (text, None),
    };
    let split = |side: &str| -> Vec<String> {
        if side.is_empty() {
            Vec::new()
        } else {
            side.split(':').map(str::to_owned).collect()
        }
    };
    let head_parts = split(head);
    let tail_parts = tail.map(split).unwrap_or_default();
    let groups = |parts: &[String], is_tail: bool| -> Result<Vec<u16>, String> {
        let mut out = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len() && (is_tail || tail.is_none());
            if part.contains('.') {
                if !last {
                    return Err(format!(
                        "\"{part}\" is a dotted IPv4 address inside an IPv6 address: it may only be the last 32 bits, at the very end."
                    ));
                }
                let [a, b, c, d] =
                    parse_v4(part).map_err(|why| format!("In the IPv4 part at the end: {why}"))?;
                out.push(u16::from_be_bytes([a, b]));
                out.push(u16::from_be_bytes([c, d]));
                continue;
            }
            if part.is_empty() {
                return Err("An empty group: a single colon at the start or the end, or where :: was meant. Every group between colons needs 1 to 4 hex digits.".to_owned());
            }
            if let Some(bad) = part.chars().find(|c| !c.is_ascii_hexdigit()) {
                return Err(format!(
                    "'{bad}' in \"{part}\" is not a hex digit: IPv6 groups use 0-9 and a-f."
                ));
            }
            if part.len() > 4 {
                return Err(format!(
                    "\"{part}\" has {} hex digits: a group is 16 bits, at most 4 hex digits (ffff = 65535).",
                    part.len()
                ));
            }
            out.push(
                u16::from_str_radix(part, 16)
                    .map_err(|_| format!("\"{part}\" is not a hex group."))?,
            );
        }
        Ok(out)
    };
    let front = groups(&head_parts, false)?;
    let back = groups(&tail_parts, true)?;
    let written = front.len() + back.len();
    let mut out = [0u16; 8];
    match tail {
        None if written == 8 => out.copy_from_slice(&front),
        None if written < 8 => {
            return Err(format!(
                "Only {written} groups and no \"::\". An IPv6 address has eight groups; write :: where zero groups were left out."
            ));
        }
        None => {
            return Err(format!(
                "{written} groups: an IPv6 address has eight groups of 16 bits (128 bits), no more."
            ));
        }
        Some(_) if written >= 8 => {
            return Err(format!(
                "\"::\" stands for at least one zero group, but {written} groups are already written: an IPv6 address has eight."
            ));
        }
        Some(_) => {
            out[..front.len()].copy_from_slice(&front);
            out[8 - back.len()..].copy_from_slice(&back);
        }
    }
    Ok(out)
}

/// All eight groups with four hex digits each: the expanded form.
pub(crate) fn expanded(groups: &[u16; 8]) -> String {
    groups
        .iter()
        .map(|g| format!("{g:04x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The IPv4 address in an IPv4-mapped IPv6 address (`::ffff:0:0/96`, RFC 4291 2.5.5.2).
pub(crate) fn mapped_v4(groups: &[u16; 8]) -> Option<[u8; 4]> {
    if groups[..5].iter().all(|g| *g == 0) && groups[5] == 0xffff {
        let [a, b] = groups[6].to_be_bytes();
        let [c, d] = groups[7].to_be_bytes();
        Some([a, b, c, d])
    } else {
        None
    }
}

pub(crate) fn dotted(octets: &[u8; 4]) -> String {
    let [a, b, c, d] = octets;
    format!("{a}.{b}.{c}.{d}")
}

/// One rule of RFC 5952 applied to an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    /// Where the rule is: `RFC 5952 4.1`.
    pub(crate) rule: &'static str,
    /// The rule in a few words.
    pub(crate) title: &'static str,
    /// What it did to this address.
    pub(crate) says: String,
    /// The text after this step.
    pub(crate) result: String,
}

/// The runs of consecutive zero groups: (first index, length), in order.
fn zero_runs(groups: &[u16; 8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < 8 {
        if groups[i] == 0 {
            let start = i;
            while i < 8 && groups[i] == 0 {
                i += 1;
            }
            runs.push((start, i - start));
        } else {
            i += 1;
        }
    }
    runs
}

/// The run `::` replaces: the longest of two or more groups, the first of equals (4.2.1-4.2.3).
fn chosen_run(groups: &[u16; 8]) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for (start, len) in zero_runs(groups) {
        if len >= 2 && best.is_none_or(|(_, b)| len > b) {
            best = Some((start, len));
        }
    }
    best
}

fn span(start: usize, len: usize) -> String {
    if len == 1 {
        format!("group {}", start + 1)
    } else {
        format!("groups {}-{}", start + 1, start + len)
    }
}

/// The groups without leading zeros, `::` in place of `run`.
fn compressed(groups: &[u16; 8], run: Option<(usize, usize)>) -> String {
    let hex = |gs: &[u16]| {
        gs.iter()
            .map(|g| format!("{g:x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    match run {
        None => hex(groups),
        Some((start, len)) => format!("{}::{}", hex(&groups[..start]), hex(&groups[start + len..])),
    }
}

/// RFC 5952's rules applied one after another to an IPv6 address, as the lesson shows them;
/// the last step's `result` is the canonical text. `typed` is what the learner wrote (for
/// the lowercase rule's remark).
pub(crate) fn canonical_steps(groups: &[u16; 8], typed: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let stripped = compressed(groups, None);
    steps.push(Step {
        rule: "RFC 5952 4.1",
        title: "Leading zeros dropped",
        says: "In each group the zeros in front go; a group of all zeros is written 0.".to_owned(),
        result: stripped.clone(),
    });
    let runs = zero_runs(groups);
    let run = chosen_run(groups);
    let long: Vec<&(usize, usize)> = runs.iter().filter(|(_, len)| *len >= 2).collect();
    let says = match run {
        None if runs.is_empty() => {
            "No group is 0, so there is nothing for :: to replace.".to_owned()
        }
        None => format!(
            "The only zero group{} ({}) {} alone: :: must never replace a single 0 group (4.2.2), so it stays 0.",
            if runs.len() > 1 { "s" } else { "" },
            runs.iter()
                .map(|(s, l)| span(*s, *l))
                .collect::<Vec<_>>()
                .join(", "),
            if runs.len() > 1 {
                "stand each"
            } else {
                "stands"
            }
        ),
        Some((start, len)) => {
            let ties = long.iter().filter(|(_, l)| *l == len).count();
            let mut text = format!(
                "The longest run of zero groups is {} ({len} groups): it becomes :: (4.2.3), all of it (4.2.1).",
                span(start, len)
            );
            if ties > 1 {
                text = format!(
                    "{ties} runs of {len} zero groups tie; the first, {}, becomes :: (4.2.3).",
                    span(start, len)
                );
            }
            let others: Vec<String> = runs
                .iter()
                .filter(|r| **r != (start, len))
                .map(|(s, l)| span(*s, *l))
                .collect();
            if !others.is_empty() {
                text.push_str(&format!(
                    " Only one :: is allowed, so {} stay{} written out as 0.",
                    others.join(" and "),
                    if others.len() == 1 && !others[0].starts_with("groups") {
                        "s"
                    } else {
                        ""
                    }
                ));
            }
            text
        }
    };
    let shortened = compressed(groups, run);
    steps.push(Step {
        rule: "RFC 5952 4.2",
        title: "One :: for the longest run of zeros",
        says,
        result: shortened.clone(),
    });
    let typed_upper = typed.chars().any(|c| c.is_ascii_uppercase());
    steps.push(Step {
        rule: "RFC 5952 4.3",
        title: "Lowercase",
        says: if typed_upper {
            "The hex digits a-f are written in lowercase (you typed capitals).".to_owned()
        } else {
            "The hex digits a-f are written in lowercase (already so).".to_owned()
        },
        result: shortened.clone(),
    });
    let (says, result) = match mapped_v4(groups) {
        Some(v4) => (
            format!(
                "This is an IPv4-mapped address (::ffff:0:0/96): its last 32 bits are the IPv4 address {}, written in dotted decimal.",
                dotted(&v4)
            ),
            format!("::ffff:{}", dotted(&v4)),
        ),
        None => (
            "Not an IPv4-mapped address (those start ::ffff:), so the last 32 bits stay hex."
                .to_owned(),
            shortened,
        ),
    };
    steps.push(Step {
        rule: "RFC 5952 5",
        title: "IPv4-mapped: dotted decimal at the end",
        says,
        result,
    });
    steps
}

/// The canonical text (RFC 5952) of an IPv6 address.
pub(crate) fn canonical(groups: &[u16; 8]) -> String {
    canonical_steps(groups, "")
        .pop()
        .map(|step| step.result)
        .unwrap_or_default()
}

/// The 32 bits of an IPv4 address as one number.
pub(crate) fn v4_number(octets: &[u8; 4]) -> u32 {
    u32::from_be_bytes(*octets)
}

/// The octets in binary, eight bits each, dot-separated.
pub(crate) fn v4_binary(octets: &[u8; 4]) -> String {
    octets
        .iter()
        .map(|o| format!("{o:08b}"))
        .collect::<Vec<_>>()
        .join(".")
}

/// Why a correct address is not written canonically, rule by rule (empty when it is).
pub(crate) fn canonical_problems(typed: &str, groups: &[u16; 8]) -> Vec<String> {
    let typed = typed.trim();
    let want = canonical(groups);
    if typed == want {
        return Vec::new();
    }
    let mut problems = Vec::new();
    if typed.chars().any(|c| c.is_ascii_uppercase()) {
        problems.push("capital letters: hex digits are lowercase (RFC 5952 4.3)".to_owned());
    }
    let lower = typed.to_ascii_lowercase();
    let hex_part = lower
        .rsplit_once(':')
        .map_or(lower.as_str(), |(head, last)| {
            if last.contains('.') {
                head
            } else {
                lower.as_str()
            }
        });
    if hex_part
        .split(':')
        .any(|g| g.len() > 1 && g.starts_with('0'))
    {
        problems.push("leading zeros in a group (RFC 5952 4.1)".to_owned());
    }
    let run = chosen_run(groups);
    let used = lower.contains("::");
    match (run, used) {
        (None, true) => problems.push(
            ":: replaces a single 0 group; it must stand for two or more (RFC 5952 4.2.2)"
                .to_owned(),
        ),
        (Some(_), false) => problems.push(
            "the longest run of zero groups is written out: it must be :: (RFC 5952 4.2.1, shorten as much as possible)"
                .to_owned(),
        ),
        (Some((start, len)), true) => {
            // How many groups are written before and after the typed `::` (a dotted IPv4
            // tail is two groups): the `::` stands for the groups in between.
            let count = |side: &str| -> usize {
                side.split(':')
                    .filter(|g| !g.is_empty())
                    .map(|g| if g.contains('.') { 2 } else { 1 })
                    .sum()
            };
            let (before, after) = lower.split_once("::").unwrap_or_default();
            let (before, after) = (count(before), count(after));
            let end = start + len;
            if before == start && 8 - after == end {
                // The right run, all of it.
            } else if before >= start && 8 - after <= end {
                problems.push(
                    "a 0 group is written next to ::, which must take the whole run (RFC 5952 4.2.1)"
                        .to_owned(),
                );
            } else if zero_runs(groups)
                .iter()
                .any(|&(s, l)| l == len && s != start)
            {
                problems.push(
                    ":: must replace the FIRST of the equally long runs (RFC 5952 4.2.3)"
                        .to_owned(),
                );
            } else {
                problems.push(
                    ":: must replace the LONGEST run of zero groups (RFC 5952 4.2.3)".to_owned(),
                );
            }
        }
        (None, false) => {}
    }
    match mapped_v4(groups) {
        Some(_) if !lower.contains('.') => problems.push(
            "an IPv4-mapped address ends in dotted decimal: ::ffff:a.b.c.d (RFC 5952 5)".to_owned(),
        ),
        None if lower.contains('.') => problems.push(
            "only IPv4-mapped addresses (::ffff:...) end in dotted decimal (RFC 5952 5)".to_owned(),
        ),
        _ => {}
    }
    if problems.is_empty() {
        problems.push(format!(
            "it is the right address, but written {want} canonically"
        ));
    }
    problems
}
