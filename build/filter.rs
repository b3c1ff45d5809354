//! `filters/<arch>.json` (seccompiler's JSON format) to seccompiler's
//! filter types, with syscall numbers from the core's table rather than
//! seccompiler's own name list (which stops at older kernels).

use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};
use serde_json::Value;
use sproot_core::sysno::Arch;
use std::collections::BTreeMap;

/// One filter of the file (`{"mismatch_action", "match_action", "filter"}`)
/// as a seccompiler filter for `arch`.
pub fn filter(doc: &Value, name: &str, arch: Arch, target: TargetArch) -> SeccompFilter {
    let action = |key: &str| parse_action(&doc[key], name, key);
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    // A syscall with one entry without conditions matches whatever its
    // arguments: seccompiler's empty rule list.
    let mut unconditional: Vec<i64> = Vec::new();
    for entry in doc["filter"].as_array().into_iter().flatten() {
        let syscall = entry["syscall"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: an entry without a syscall name: {entry}"));
        let nr = arch
            .number(syscall)
            .unwrap_or_else(|| panic!("{name}: {syscall} is not in the core's syscall list"));
        let conditions: Vec<SeccompCondition> = entry["args"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| condition(c, name, syscall))
            .collect();
        if conditions.is_empty() {
            unconditional.push(nr);
            rules.insert(nr, Vec::new());
        } else if !unconditional.contains(&nr) {
            let rule =
                SeccompRule::new(conditions).unwrap_or_else(|e| panic!("{name}: {syscall}: {e:?}"));
            rules.entry(nr).or_default().push(rule);
        }
    }
    SeccompFilter::new(
        rules,
        action("mismatch_action"),
        action("match_action"),
        target,
    )
    .unwrap_or_else(|e| panic!("{name}: {e:?}"))
}

fn parse_action(v: &Value, name: &str, key: &str) -> SeccompAction {
    match v {
        Value::String(s) if s == "allow" => SeccompAction::Allow,
        Value::Object(m) if m.len() == 1 => {
            let (k, data) = m.iter().next().expect("one key");
            let data = data.as_u64().and_then(|d| u32::try_from(d).ok());
            match (k.as_str(), data) {
                ("trace", Some(d)) => SeccompAction::Trace(d),
                ("errno", Some(d)) => SeccompAction::Errno(d),
                _ => panic!("{name}: {key}: unsupported action {v}"),
            }
        }
        _ => panic!("{name}: {key}: unsupported action {v}"),
    }
}

fn condition(c: &Value, name: &str, syscall: &str) -> SeccompCondition {
    let bad = |what: &str| -> ! { panic!("{name}: {syscall}: condition {c}: {what}") };
    let index = c["index"]
        .as_u64()
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or_else(|| bad("no index"));
    let len = match c["type"].as_str() {
        Some("dword") => SeccompCmpArgLen::Dword,
        Some("qword") => SeccompCmpArgLen::Qword,
        _ => bad("type is not dword or qword"),
    };
    let op = match &c["op"] {
        Value::String(s) => match s.as_str() {
            "eq" => SeccompCmpOp::Eq,
            "ne" => SeccompCmpOp::Ne,
            "ge" => SeccompCmpOp::Ge,
            "gt" => SeccompCmpOp::Gt,
            "le" => SeccompCmpOp::Le,
            "lt" => SeccompCmpOp::Lt,
            _ => bad("unknown op"),
        },
        Value::Object(m) => match m.get("masked_eq").and_then(Value::as_u64) {
            Some(mask) => SeccompCmpOp::MaskedEq(mask),
            None => bad("unknown op"),
        },
        _ => bad("unknown op"),
    };
    let val = c["val"].as_u64().unwrap_or_else(|| bad("no val"));
    SeccompCondition::new(index, len, op, val).unwrap_or_else(|e| panic!("{syscall}: {e:?}"))
}
