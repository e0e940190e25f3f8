//! The domain's modules import each other without a cycle: every module can
//! be read (and changed) knowing only the modules below it.
//!
//! Each file under `src/` is read as text. A `crate::<module>` path in it (a
//! `use` line, grouped `use crate::{a::X, b::Y}` included, or a path inline
//! in the code) is an edge from the file's top-level module to `<module>`;
//! a `super::` that climbs to the crate root counts the same. Comments and
//! string literals are not code, and a `#[cfg(test)] mod` block is left out:
//! a module's tests may use any module. An item the root re-exports
//! (`pub use order::Order` in `lib.rs`) is its module's: `crate::Order` is
//! an edge to `order`, not to the root. A glob of the crate root (`use
//! crate::*`, or a `super::*` that reaches it) or a glob re-export at the
//! root would hide edges, so either fails the test. Not seen: a path
//! written inside a string (a serde `with = "crate::m::f"`); the domain
//! names such functions relative to their own module.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The node of the crate root (`lib.rs`) and of the items declared there
/// (`crate::Timestamp`).
const ROOT: &str = "lib";

/// Where an edge comes from: the file and line of one reference making it.
type Edges = BTreeMap<String, BTreeMap<String, String>>;

#[test]
fn the_modules_of_the_domain_import_each_other_without_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = module_graph(&src);
    assert!(edges.len() > 1, "no module found under {}", src.display());
    assert!(edges.values().any(|to| !to.is_empty()), "no import found: is the scanner broken?");
    if let Some(cycle) = find_cycle(&edges) {
        let steps: Vec<String> = cycle
            .windows(2)
            .map(|pair| format!("  {} -> {}   ({})", pair[0], pair[1], edges[&pair[0]][&pair[1]]))
            .collect();
        let tangled: Vec<String> =
            tangles(&edges).iter().map(|group| format!("  {}", group.join(", "))).collect();
        panic!(
            "the module graph of crates/domain/src has a cycle: {}\n{}\n\n\
             modules in a cycle together:\n{}\n\nevery edge:\n{}",
            cycle.join(" -> "),
            steps.join("\n"),
            tangled.join("\n"),
            describe(&edges)
        );
    }
    println!("{}", describe(&edges));
}

/// The scanner itself, on text holding every form it must see or skip.
#[test]
fn the_scanner_reads_grouped_and_inline_paths_and_skips_comments_strings_and_tests() {
    let text = r##"
        //! See [`crate::doc_link`] and `crate::in_backticks`.
        use crate::Timestamp;
        use crate::single::Item;
        use crate::{grouped_a::X, grouped_b::{Y, Z}, Won, self};
        use crate::{
            multi_line::W,
        };
        /* a block comment: crate::block /* nested crate::nested */ crate::after_nested */
        fn f<'a>(x: &'a str) -> crate::inline::Type {
            let s = "crate::in_string";
            let r = r#"crate::in_raw " string"#;
            let c = '"';
            let d = '\'';
            crate::call::site(x, c, d, s, r)
        }
        mod inner {
            use super::super::climbs_out::V;
            use super::stays::U;
        }
        #[cfg(test)]
        #[allow(unused)]
        mod tests {
            use crate::only_in_tests::T;
            fn g() { { crate::nested_in_tests::f() } }
        }
        use crate::after_tests::A;
        use crate::*;
        use crate::{*, glob_sibling};
    "##;
    let found: BTreeSet<String> = references(text, 1).into_iter().map(|(target, _)| target).collect();
    let expected: BTreeSet<String> = [
        "Timestamp",
        "single",
        "grouped_a",
        "grouped_b",
        "Won",
        "self",
        "multi_line",
        "inline",
        "call",
        "climbs_out",
        "after_tests",
        "*",
        "glob_sibling",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(found, expected);
    let glob_from_a_module = references("use super::*;", 1);
    assert_eq!(glob_from_a_module.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), ["*"]);
    let modules: BTreeSet<String> = ["order", "values"].into_iter().map(String::from).collect();
    let root = "mod order;\npub use order::Order;\npub use self::values::{Address, Channel as Ch};\n\
                pub use crate::order::State;\nuse std::fmt;\nfn f() -> values::Address { crate::x::order::y() }\n";
    let reexported = root_reexports(root, &modules);
    let expected: BTreeMap<String, String> = [
        ("Order", "order"),
        ("Address", "values"),
        ("Channel", "values"),
        ("Ch", "values"),
        ("State", "order"),
    ]
    .into_iter()
    .map(|(name, module)| (name.to_owned(), module.to_owned()))
    .collect();
    assert_eq!(reexported, expected);
}

#[test]
#[should_panic(expected = "glob re-export")]
fn a_glob_re_export_at_the_root_fails() {
    let modules: BTreeSet<String> = ["order"].into_iter().map(String::from).collect();
    root_reexports("pub use order::*;", &modules);
}

/// Every top-level module of the crate under `src` and the modules it refers
/// to, each with where.
fn module_graph(src: &Path) -> Edges {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|file| top_module(src, file)).collect();
    let reexported = fs::read_to_string(src.join("lib.rs"))
        .map(|root| root_reexports(&root, &modules))
        .unwrap_or_default();
    let mut edges = Edges::new();
    for file in &files {
        let from = top_module(src, file);
        let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let depth = module_depth(src, file);
        let at = edges.entry(from.clone()).or_default();
        for (target, line) in references(&text, depth) {
            let place = format!("{}:{line}", file.strip_prefix(src).unwrap_or(file).display());
            // In the root itself a glob of the root hides nothing.
            assert!(
                target != "*" || from == ROOT,
                "{place}: a glob of the crate root hides which modules it uses; name them"
            );
            // A module; an item the root re-exports, its module's; any
            // other name, an item of the crate root itself.
            let to = if modules.contains(&target) {
                target
            } else {
                reexported.get(&target).cloned().unwrap_or_else(|| ROOT.to_owned())
            };
            if to != from {
                at.entry(to).or_insert(place);
            }
        }
    }
    edges
}

/// Every `.rs` file under `dir`, subdirectories included.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

/// `a.rs`, `a/mod.rs` and `a/b.rs` belong to `a`; `lib.rs` is the root.
fn top_module(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_string_lossy();
    let name = first.strip_suffix(".rs").unwrap_or(&first);
    if name == "lib" || name == "main" { ROOT.to_owned() } else { name.to_owned() }
}

/// How deep below the root a file's own module is: `lib.rs` 0, `a.rs` and
/// `a/mod.rs` 1, `a/b.rs` 2.
fn module_depth(src: &Path, file: &Path) -> usize {
    let relative = file.strip_prefix(src).unwrap();
    let parts = relative.components().count();
    let name = relative.file_name().unwrap_or_default();
    if parts == 1 && (name == "lib.rs" || name == "main.rs") {
        0
    } else if name == "mod.rs" {
        parts - 1
    } else {
        parts
    }
}

/// The first path segment after every `crate::` in the code of `text` (and
/// after every `super::` that climbs from a module `depth` below the root to
/// the root), each with its line. A group `crate::{a::X, b}` gives `a` and
/// `b`.
fn references(text: &str, depth: usize) -> Vec<(String, usize)> {
    let code = without_test_modules(&code_only(text));
    let inline_modules = inline_module_spans(&code);
    let line_of = |at: usize| code[..at].iter().filter(|&&c| c == '\n').count() + 1;
    let mut found = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let starts_word = i == 0 || !is_ident(code[i - 1]);
        let after = if starts_word && matches_at(&code, i, "crate") {
            path_separator(&code, i + "crate".len())
        } else if starts_word && matches_at(&code, i, "super") {
            // `super::super::x` from inside `mod m {}` of `src/a.rs`: each
            // `super` climbs one module.
            let mut climbs = 0;
            let mut at = i;
            while matches_at(&code, at, "super") {
                match path_separator(&code, at + "super".len()) {
                    Some(next) => {
                        climbs += 1;
                        at = next;
                    }
                    None => break,
                }
            }
            let here = depth + inline_modules.iter().filter(|(s, e)| *s < i && i < *e).count();
            (climbs > 0 && climbs >= here).then_some(at)
        } else {
            None
        };
        match after {
            Some(at) => {
                for (name, position) in first_segments(&code, at) {
                    found.push((name, line_of(position)));
                }
                i = at;
            }
            None => i += 1,
        }
    }
    found
}

/// The items `lib.rs` re-exports from its modules, by the name they take
/// at the root (`pub use order::Order;`, `pub use self::values::{Address,
/// Channel as Ch};`, `pub use crate::order::State;`): name -> module.
fn root_reexports(text: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let code = without_test_modules(&code_only(text));
    let mut found = BTreeMap::new();
    let mut i = 0;
    while i < code.len() {
        let starts_word = i == 0 || !is_ident(code[i - 1]);
        if !(starts_word && matches_at(&code, i, "use") && code.get(i + 3).is_some_and(|c| c.is_whitespace()))
        {
            i += 1;
            continue;
        }
        let mut at = skip_space(&code, i + 3);
        for prefix in ["self", "crate"] {
            if matches_at(&code, at, prefix)
                && let Some(next) = path_separator(&code, at + prefix.len())
            {
                at = next;
            }
        }
        let module: String = code[at..].iter().take_while(|c| is_ident(**c)).collect();
        let after = path_separator(&code, at + module.chars().count());
        if let (true, Some(items)) = (modules.contains(&module), after) {
            let end = code[items..].iter().position(|&c| c == ';').map_or(code.len(), |p| items + p);
            let list: String = code[items..end].iter().collect();
            let list = list.trim().trim_start_matches('{').trim_end_matches('}');
            for item in list.split(',').map(str::trim).filter(|item| !item.is_empty()) {
                assert!(item != "*", "lib.rs: a glob re-export of {module} hides which items it brings up");
                let mut words = item.split_whitespace();
                let name = words.next().unwrap_or_default().rsplit("::").next().unwrap_or_default();
                found.insert(name.to_owned(), module.clone());
                if let (Some("as"), Some(alias)) = (words.next(), words.next()) {
                    found.insert(alias.to_owned(), module.clone());
                }
            }
        }
        i = at.max(i + 1);
    }
    found
}

/// The index after `::` (spaces around it allowed) if it is at `at`.
fn path_separator(code: &[char], at: usize) -> Option<usize> {
    let at = skip_space(code, at);
    matches_at(code, at, "::").then(|| skip_space(code, at + 2))
}

/// The first segment of the path at `at`, or of every path of the group
/// `{...}` there.
fn first_segments(code: &[char], at: usize) -> Vec<(String, usize)> {
    if code.get(at) == Some(&'*') {
        return vec![("*".to_owned(), at)];
    }
    if code.get(at) != Some(&'{') {
        let name: String = code[at..].iter().take_while(|c| is_ident(**c)).collect();
        return if name.is_empty() { Vec::new() } else { vec![(name, at)] };
    }
    let mut out = Vec::new();
    let mut depth = 0;
    let mut expecting = true;
    let mut i = at;
    while i < code.len() {
        match code[i] {
            '{' => {
                depth += 1;
                expecting = depth == 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => expecting = true,
            '*' if depth == 1 && expecting => {
                out.push(("*".to_owned(), i));
                expecting = false;
            }
            c if depth == 1 && expecting && is_ident(c) => {
                let name: String = code[i..].iter().take_while(|c| is_ident(**c)).collect();
                out.push((name.clone(), i));
                expecting = false;
                i += name.chars().count();
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// `text` with every comment and the inside of every string and character
/// literal replaced by spaces (newlines kept, so lines still count).
fn code_only(text: &str) -> Vec<char> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = chars.clone();
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for c in &mut out[from..to.min(chars.len())] {
            if *c != '\n' {
                *c = ' ';
            }
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let next = chars.get(i + 1).copied();
        let word_start = i == 0 || !is_ident(chars[i - 1]);
        if chars[i] == '/' && next == Some('/') {
            let end = chars[i..].iter().position(|&c| c == '\n').map_or(chars.len(), |n| i + n);
            blank(&mut out, i, end);
            i = end;
        } else if chars[i] == '/' && next == Some('*') {
            let (mut depth, mut j) = (0, i);
            while j < chars.len() {
                if matches_at(&chars, j, "/*") {
                    depth += 1;
                    j += 2;
                } else if matches_at(&chars, j, "*/") {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            blank(&mut out, i, j);
            i = j;
        } else if chars[i] == 'r' && word_start && matches!(next, Some('"' | '#')) {
            // A raw string `r#"..."#`, or a raw identifier `r#type`.
            let hashes = chars[i + 1..].iter().take_while(|&&c| c == '#').count();
            let open = i + 1 + hashes;
            if chars.get(open) != Some(&'"') {
                i = open;
                continue;
            }
            let close: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let mut j = open + 1;
            while j < chars.len() && !matches_at(&chars, j, &close) {
                j += 1;
            }
            blank(&mut out, open + 1, j);
            i = j + close.chars().count();
        } else if chars[i] == '"' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '"' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            blank(&mut out, i + 1, j);
            i = j + 1;
        } else if chars[i] == '\'' {
            // A character literal (`'x'`, `'\n'`, `'\''`), or a lifetime.
            let end = if next == Some('\\') {
                chars[i + 2..].iter().skip(1).position(|&c| c == '\'').map(|n| i + 3 + n)
            } else {
                (chars.get(i + 2) == Some(&'\'')).then_some(i + 2)
            };
            match end {
                Some(end) => {
                    blank(&mut out, i + 1, end);
                    i = end + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    out
}

/// `code` with every `#[cfg(test)] mod name { ... }` blanked.
fn without_test_modules(code: &[char]) -> Vec<char> {
    let mut out = code.to_vec();
    let mut i = 0;
    while i < code.len() {
        if !matches_at(code, i, "#[cfg(test)]") {
            i += 1;
            continue;
        }
        let mut at = skip_space(code, i + "#[cfg(test)]".len());
        // Further attributes, then `pub`, then `mod name {`.
        while matches_at(code, at, "#[") {
            at = matching(code, at + 1, '[', ']').map_or(code.len(), |end| skip_space(code, end + 1));
        }
        if matches_at(code, at, "pub ") {
            at = skip_space(code, at + 4);
        }
        let start = i;
        i = at;
        if !matches_at(code, at, "mod ") {
            continue;
        }
        at = skip_space(code, at + 4);
        at = skip_space(code, at + code[at..].iter().take_while(|c| is_ident(**c)).count());
        if code.get(at) == Some(&'{')
            && let Some(end) = matching(code, at, '{', '}')
        {
            for c in &mut out[start..=end] {
                if *c != '\n' {
                    *c = ' ';
                }
            }
            i = end + 1;
        }
    }
    out
}

/// The spans of every inline `mod name { ... }`.
fn inline_module_spans(code: &[char]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for i in 0..code.len() {
        if !(matches_at(code, i, "mod ") && (i == 0 || !is_ident(code[i - 1]))) {
            continue;
        }
        let mut at = skip_space(code, i + 4);
        at = skip_space(code, at + code[at..].iter().take_while(|c| is_ident(**c)).count());
        if code.get(at) == Some(&'{')
            && let Some(end) = matching(code, at, '{', '}')
        {
            spans.push((at, end));
        }
    }
    spans
}

/// The index of the bracket closing the one at `open`.
fn matching(code: &[char], open: usize, opening: char, closing: char) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &c) in code.iter().enumerate().skip(open) {
        if c == opening {
            depth += 1;
        } else if c == closing {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Whether `word` is written at `at`.
fn matches_at(code: &[char], at: usize, word: &str) -> bool {
    word.chars().enumerate().all(|(k, w)| code.get(at + k) == Some(&w))
}

fn skip_space(code: &[char], at: usize) -> usize {
    at + code[at.min(code.len())..].iter().take_while(|c| c.is_whitespace()).count()
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A cycle as its modules, the first repeated at the end; `None` when the
/// graph has none.
fn find_cycle(edges: &Edges) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &Edges,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flat_map(|to| to.keys()) {
            if let Some(cycle) = visit(next, edges, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    edges.keys().find_map(|node| visit(node, edges, &mut done, &mut Vec::new()))
}

/// Every group of two or more modules that all reach each other (the
/// strongly connected components): what must be untangled.
fn tangles(edges: &Edges) -> Vec<Vec<String>> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_owned()];
        while let Some(node) = todo.pop() {
            for next in edges.get(&node).into_iter().flat_map(|to| to.keys()) {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> = edges.keys().map(|n| (n, reach(n))).collect();
    let mut groups: Vec<Vec<String>> = Vec::new();
    for (node, reached) in &reaches {
        if groups.iter().any(|g| g.contains(node)) || !reached.contains(*node) {
            continue;
        }
        let group =
            reached.iter().filter(|other| reaches.get(other).is_some_and(|r| r.contains(*node))).cloned();
        groups.push(group.collect());
    }
    groups
}

fn describe(edges: &Edges) -> String {
    edges
        .iter()
        .map(|(from, to)| {
            let targets: Vec<&str> = to.keys().map(String::as_str).collect();
            format!("  {from} -> {}", targets.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
