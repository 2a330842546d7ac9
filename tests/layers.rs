//! The layer check: no import cycle between the top-level modules of `src/`, and no module
//! importing a module of a higher layer (docs/architecture.md, "Layers").
//!
//! The check reads the sources, not the compiler's view: every `crate::X` path (in `use`
//! trees, types and expressions), every `super::` path that climbs out of its top-level
//! module, and `siplens::X` in the binary's front ends. Comments and string literals are
//! blanked first (an intra-doc link is not an import); code under `#[cfg(test)]` is left
//! out, since tests may reach up to build their fixtures.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The declared layers, lowest first. A module may import modules of lower layers only;
/// within a layer, only the pairs in [`PEERS`] may import each other (one way).
const LAYERS: &[&[&str]] = &[
    // Byte-scanning primitives (the `token` table, short-slice searches): no imports.
    &["bytes"],
    // Frames from files, interfaces and stdin.
    &["capture"],
    // HEP wire format and listener: a frame source below the network decoder, which
    // decapsulates HEP found in UDP/TCP.
    &["hep"],
    // Link, IP, UDP/TCP, reassembly, SIP framing -> segments.
    &["net"],
    // Wire parsers over borrowed bytes.
    &["sip", "sdp", "media"],
    // Plain records every later stage shares; the configuration file.
    &["model", "config"],
    // Trackers with no knowledge of the engine or of rules: TLS handshakes, NAT facts.
    &["tls", "nat"],
    // Dialogs, transactions, media sessions, streams; runs the registered rules.
    &["engine"],
    // Rule families (findings).
    &["rules"],
    // Outputs and front-end services over the engine's results.
    &["report", "export", "crack", "live", "audio"],
    // The dashboard (renders report DTOs).
    &["tui"],
    // The binary: `main.rs` and the command front ends in `src/cli/`.
    &["cli"],
];

/// Same-layer imports that are allowed (importer, imported).
const PEERS: &[(&str, &str)] = &[
    ("sdp", "media"),
    // The per-message view keeps the SDP body parsed (sip::view).
    ("sip", "sdp"),
];

/// Top-level modules of the binary crate (they see the library as `siplens::`).
const BIN_ROOTS: &[&str] = &["main.rs", "cli"];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The source with comments and the contents of string and char literals replaced by
/// spaces (newlines kept, so byte offsets and line numbers stay valid).
fn blank(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let wipe = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in out.iter_mut().take(to.min(b.len())).skip(from) {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            let end = b[i..]
                .iter()
                .position(|&x| x == b'\n')
                .map_or(b.len(), |p| i + p);
            wipe(&mut out, i, end);
            i = end;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                if b[j] == b'/' && b.get(j + 1) == Some(&b'*') {
                    depth += 1;
                    j += 2;
                } else if b[j] == b'*' && b.get(j + 1) == Some(&b'/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            wipe(&mut out, i, j);
            i = j;
        } else if c == b'r'
            && (i == 0 || !ident(b[i - 1]) || b[i - 1] == b'b')
            && matches!(b.get(i + 1), Some(b'"') | Some(b'#'))
        {
            // Raw string r"..." / r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                i += 1;
                continue;
            }
            let start = j + 1;
            let mut k = start;
            loop {
                if k >= b.len() {
                    break;
                }
                if b[k] == b'"'
                    && b[k + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&x| x == b'#')
                        .count()
                        == hashes
                {
                    break;
                }
                k += 1;
            }
            wipe(&mut out, start, k);
            i = k + 1 + hashes;
        } else if c == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            wipe(&mut out, i + 1, j);
            i = j + 1;
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if b.get(i + 1) == Some(&b'\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
                wipe(&mut out, i + 1, j);
                i = j + 1;
            } else if b.get(i + 2) == Some(&b'\'') {
                wipe(&mut out, i + 1, i + 2);
                i += 3;
            } else {
                // Multi-byte char literal or lifetime: find a closing quote within 5 bytes.
                match b[i + 1..].iter().take(5).position(|&x| x == b'\'') {
                    Some(p) if !b[i + 1..i + 1 + p].iter().all(|&x| ident(x)) => {
                        wipe(&mut out, i + 1, i + 1 + p);
                        i += p + 2;
                    }
                    _ => i += 1,
                }
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The end (exclusive) of the item starting at `from`: after its block, or its `;`.
fn item_end(s: &[u8], from: usize) -> usize {
    let mut depth = 0i32;
    let mut i = from;
    while i < s.len() {
        match s[i] {
            b'(' | b'[' => depth += 1,
            b')' | b']' => depth -= 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            b';' if depth == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    s.len()
}

/// Blanks every item under `#[cfg(test)]`; returns the names of `#[cfg(test)] mod x;`
/// (whose files are test-only).
fn drop_test_items(code: &mut String) -> Vec<String> {
    let mut test_mods = Vec::new();
    let pat = "#[cfg(test)]";
    let mut from = 0;
    while let Some(p) = code[from..].find(pat).map(|p| p + from) {
        let start = p + pat.len();
        let end = item_end(code.as_bytes(), start);
        let item = code[start..end].trim().to_string();
        let words: Vec<&str> = item
            .split(|c: char| c.is_whitespace() || c == ';' || c == '{')
            .filter(|w| !w.is_empty())
            .collect();
        if item.ends_with(';') {
            if let Some(i) = words.iter().position(|w| *w == "mod") {
                if let Some(n) = words.get(i + 1) {
                    test_mods.push(n.to_string());
                }
            }
        }
        let blanked: String = code[p..end]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        code.replace_range(p..end, &blanked);
        from = end;
    }
    test_mods
}

/// Inline `mod name { .. }` blocks: (start, end, name).
fn inline_mods(code: &str) -> Vec<(usize, usize, String)> {
    let b = code.as_bytes();
    let mut v = Vec::new();
    let mut from = 0;
    while let Some(p) = code[from..].find("mod ").map(|p| p + from) {
        from = p + 4;
        if p > 0 && (b[p - 1].is_ascii_alphanumeric() || b[p - 1] == b'_') {
            continue;
        }
        let rest = &code[p + 4..];
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = rest.trim_start()[name.len()..].trim_start();
        if name.is_empty() || !after.starts_with('{') {
            continue;
        }
        let end = item_end(b, p);
        v.push((p, end, name));
    }
    v
}

fn ident_at(s: &str) -> &str {
    let n = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(s.len(), |(i, _)| i);
    &s[..n]
}

/// The first segment of each path in the `use` tree that starts right after `prefix::`
/// at `rest`: `X` for `X::..`, and each element's first segment for `{X, Y::Z}`.
fn first_segments(rest: &str) -> Vec<String> {
    let rest = rest.trim_start();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut out = Vec::new();
        let mut depth = 0;
        let mut elem_start = true;
        let mut i = 0;
        let b = inner.as_bytes();
        while i < b.len() {
            match b[i] {
                b'{' => depth += 1,
                b'}' if depth == 0 => break,
                b'}' => depth -= 1,
                b',' if depth == 0 => elem_start = true,
                c if elem_start && !c.is_ascii_whitespace() => {
                    elem_start = false;
                    out.push(ident_at(&inner[i..]).to_string());
                }
                _ => {}
            }
            i += 1;
        }
        out
    } else {
        vec![ident_at(rest).to_string()]
    }
}

struct Edge {
    from: String,
    to: String,
    at: String,
}

fn line_of(code: &str, pos: usize) -> usize {
    code[..pos].bytes().filter(|&c| c == b'\n').count() + 1
}

/// Every import from one top-level module into another.
fn edges(lib_mods: &BTreeSet<String>) -> Vec<Edge> {
    let src = src_dir();
    let mut files = Vec::new();
    rs_files(&src, &mut files);
    // Pass 1: test-only files.
    let mut test_only: BTreeSet<PathBuf> = BTreeSet::new();
    let mut codes = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read source");
        let mut code = blank(&text);
        let mods = drop_test_items(&mut code);
        let dir = if f
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs" || n == "main.rs")
        {
            f.parent().expect("parent").to_path_buf()
        } else {
            f.with_extension("")
        };
        for m in mods {
            test_only.insert(dir.join(format!("{m}.rs")));
            test_only.insert(dir.join(&m).join("mod.rs"));
        }
        codes.push((f.clone(), code));
    }
    let mut out = Vec::new();
    for (f, code) in &codes {
        if test_only
            .iter()
            .any(|t| f == t || f.starts_with(t.with_extension("")))
        {
            continue;
        }
        let rel = f.strip_prefix(&src).expect("under src");
        let parts: Vec<String> = rel
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        if parts == ["lib.rs"] {
            continue;
        }
        let bin = BIN_ROOTS.contains(&parts[0].as_str());
        let top = if bin {
            "cli".to_string()
        } else {
            parts[0].trim_end_matches(".rs").to_string()
        };
        // The file's module path: src/a/b.rs -> [a, b]; src/a/mod.rs -> [a].
        let mut path: Vec<String> = parts
            .iter()
            .map(|p| p.trim_end_matches(".rs").to_string())
            .collect();
        if path.last().is_some_and(|l| l == "mod") {
            path.pop();
        }
        let inl = inline_mods(code);
        let here = |pos: usize| format!("src/{}:{}", rel.display(), line_of(code, pos));
        let b = code.as_bytes();
        let add = |to: &str, pos: usize, out: &mut Vec<Edge>| {
            if lib_mods.contains(to) && to != top {
                out.push(Edge {
                    from: top.clone(),
                    to: to.to_string(),
                    at: here(pos),
                });
            }
        };
        let prefixes: &[&str] = if bin { &["siplens::"] } else { &["crate::"] };
        for prefix in prefixes {
            let mut from = 0;
            while let Some(p) = code[from..].find(prefix).map(|p| p + from) {
                from = p + prefix.len();
                if p > 0 && (b[p - 1].is_ascii_alphanumeric() || b[p - 1] == b'_') {
                    continue;
                }
                for seg in first_segments(&code[from..]) {
                    add(&seg, p, &mut out);
                }
            }
        }
        if bin {
            continue;
        }
        let mut from = 0;
        while let Some(p) = code[from..].find("super::").map(|p| p + from) {
            from = p + "super::".len();
            let after_path = p >= 2 && b[p - 2..p] == *b"::";
            if after_path || (p > 0 && (b[p - 1].is_ascii_alphanumeric() || b[p - 1] == b'_')) {
                continue;
            }
            let mut k = 1;
            while code[from..].starts_with("super::") {
                k += 1;
                from += "super::".len();
            }
            let mut depth_path = path.len();
            depth_path += inl.iter().filter(|(s, e, _)| *s < p && p < *e).count();
            if k == depth_path {
                for seg in first_segments(&code[from..]) {
                    add(&seg, p, &mut out);
                }
            }
        }
    }
    out
}

fn lib_modules() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(src_dir().join("lib.rs")).expect("read lib.rs");
    blank(&lib)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';').trim().to_string())
        .collect()
}

fn layer_of(m: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&m))
}

/// A cycle in the graph, as a path of modules (first == last), if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn dfs(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            match state.get(m.as_str()).copied().unwrap_or(0) {
                1 => {
                    let i = stack.iter().position(|s| s == m).unwrap_or(0);
                    let mut c = stack[i..].to_vec();
                    c.push(m.clone());
                    return Some(c);
                }
                0 => {
                    if let Some(c) = dfs(m, g, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if state.get(n.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(c) = dfs(n, graph, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn every_module_has_a_layer() {
    let missing: Vec<String> = lib_modules()
        .into_iter()
        .filter(|m| layer_of(m).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a layer in tests/layers.rs (and docs/architecture.md): {missing:?}"
    );
}

#[test]
fn no_import_cycle_and_no_upward_import() {
    let mods = lib_modules();
    let mut all = mods.clone();
    all.insert("cli".to_string());
    let es = edges(&all);
    assert!(
        es.iter().any(|e| e.from == "engine" && e.to == "net"),
        "the scanner found no engine -> net import: it is broken"
    );
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut example: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut problems = Vec::new();
    for e in &es {
        graph
            .entry(e.from.clone())
            .or_default()
            .insert(e.to.clone());
        example
            .entry((e.from.clone(), e.to.clone()))
            .or_insert_with(|| e.at.clone());
        let (Some(lf), Some(lt)) = (layer_of(&e.from), layer_of(&e.to)) else {
            continue;
        };
        let peer = lf == lt && PEERS.contains(&(e.from.as_str(), e.to.as_str()));
        if lt > lf || (lt == lf && !peer) {
            problems.push(format!(
                "{} (layer {lf}) imports {} (layer {lt}) at {}",
                e.from, e.to, e.at
            ));
        }
    }
    if let Some(c) = find_cycle(&graph) {
        let steps: Vec<String> = c
            .windows(2)
            .map(|w| {
                format!(
                    "{} -> {} ({})",
                    w[0],
                    w[1],
                    example
                        .get(&(w[0].clone(), w[1].clone()))
                        .map_or("", |s| s.as_str())
                )
            })
            .collect();
        problems.insert(0, format!("import cycle: {}", steps.join(", ")));
    }
    problems.dedup();
    assert!(
        problems.is_empty(),
        "layer violations ({}):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn scanner_reads_use_trees_super_paths_and_skips_comments() {
    let code = blank(
        "use crate::{a::B, c, d::{e, f}};\n// crate::zz\nlet s = \"crate::yy\";\nlet c = '\"'; crate::g::h();",
    );
    let tops: Vec<String> = {
        let mut v = Vec::new();
        let mut from = 0;
        while let Some(p) = code[from..].find("crate::").map(|p| p + from) {
            from = p + 7;
            v.extend(first_segments(&code[from..]));
        }
        v
    };
    assert_eq!(tops, ["a", "c", "d", "g"]);
    let mut t =
        "#[cfg(test)]\nmod tests;\n#[cfg(test)]\nmod inline { use crate::x; }\nuse crate::y;"
            .to_string();
    assert_eq!(drop_test_items(&mut t), ["tests"]);
    assert!(!t.contains("crate::x") && t.contains("crate::y"));
}
