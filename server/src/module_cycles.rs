//! No two modules of the server import each other.
//!
//! Reads `server/src`, works out which modules each module names (`crate::…`, `super::…`,
//! `self::…` paths, in `use` lines and inline, and a `mod.rs` file's own children), and fails on
//! any pair that name each other. Three kinds of reference are left out on purpose:
//! - a parent's `pub use` of its own children's items: the parent is their facade, and none of
//!   its own code depends on them;
//! - the crate root (`lib.rs`) is the composition root: it declares and wires every module, and
//!   `AppState` lives there, so it is not a layer of its own;
//! - code after a file's `#[cfg(test)]` line, whose `super` is the file itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path below the crate root, e.g. `graphql::objects` (the root is "").
type Module = String;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `graphql/objects.rs` → `graphql::objects`; `graphql/mod.rs` → `graphql`; `lib.rs` → "".
fn module_of(src: &Path, file: &Path) -> Option<Module> {
    let relative = file.strip_prefix(src).ok()?.with_extension("");
    let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|last| last == "mod" || last == "lib" || last == "main") {
        parts.pop();
    }
    Some(parts.join("::"))
}

fn parent(module: &str) -> Module {
    module.rsplit_once("::").map(|(parent, _)| parent.to_owned()).unwrap_or_default()
}

fn join(base: &str, rest: &str) -> String {
    if base.is_empty() { rest.to_owned() } else { format!("{base}::{rest}") }
}

/// The longest known module that `path` (segments from the root) starts with.
fn resolve(path: &str, modules: &BTreeSet<Module>) -> Module {
    let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    (0..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|candidate| modules.contains(candidate))
        .unwrap_or_default()
}

/// Paths starting at `anchor` (e.g. `crate::`) in `line`, expanded over one level of braces
/// (`crate::{a, b::c}` gives `a` and `b::c`).
fn paths_after(line: &str, anchor: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find(anchor) {
        let before = rest[..at].chars().last();
        rest = &rest[at + anchor.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let path: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
        let after = &rest[path.len()..];
        if path.is_empty() || path.ends_with("::") && after.starts_with('{') {
            let prefix = path.trim_end_matches("::");
            let group: String = after.trim_start_matches('{').chars().take_while(|c| *c != '}').collect();
            for item in group.split(',') {
                let item = item.split_whitespace().next().unwrap_or_default();
                let item = item.trim_start_matches('{');
                if !item.is_empty() && item != "self" {
                    found.push(join(prefix, item));
                } else if item == "self" && !prefix.is_empty() {
                    found.push(prefix.to_owned());
                }
            }
        } else {
            found.push(path.trim_end_matches("::").to_owned());
        }
    }
    found
}

/// The modules each module names, the root and itself left out.
fn imports(src: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let files: Vec<(Module, PathBuf)> =
        files.into_iter().filter_map(|file| module_of(src, &file).map(|module| (module, file))).collect();
    let modules: BTreeSet<Module> = files.iter().map(|(module, _)| module.clone()).collect();
    let mut graph = BTreeMap::new();
    for (module, file) in &files {
        let is_mod_file = file.file_name().is_some_and(|n| n == "mod.rs" || n == "lib.rs");
        // In `a/b.rs`, `super` is `a`; in `a/mod.rs` it is `a`'s parent.
        let super_base = parent(module);
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let mut named = BTreeSet::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with("#[cfg(test)]") {
                break;
            }
            if line.starts_with("//") {
                continue;
            }
            let reexport = line.starts_with("pub use ");
            let mut paths: Vec<String> = paths_after(line, "crate::");
            paths.extend(paths_after(line, "super::").into_iter().map(|p| join(&super_base, &p)));
            paths.extend(paths_after(line, "self::").into_iter().map(|p| join(module, &p)));
            if is_mod_file {
                let children = modules.iter().filter(|m| !m.is_empty() && parent(m) == *module);
                for child in children {
                    let name = child.rsplit("::").next().unwrap_or_default();
                    paths.extend(paths_after(line, &format!("{name}::")).into_iter().map(|p| join(child, &p)));
                }
            }
            for path in paths {
                let target = resolve(&path, &modules);
                let own_child = target.starts_with(&join(module, ""));
                if !target.is_empty() && target != *module && !(reexport && own_child) {
                    named.insert(target);
                }
            }
        }
        if !module.is_empty() {
            graph.insert(module.clone(), named);
        }
    }
    graph
}

#[test]
fn no_two_modules_of_the_server_import_each_other() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = imports(&src);
    assert!(graph.len() > 20, "the scan found the modules of {}", src.display());
    assert!(
        graph.get("graphql::query").is_some_and(|named| named.contains("graphql::context")),
        "the scan sees that graphql::query imports graphql::context: {:?}",
        graph.get("graphql::query")
    );
    let mut cycles = Vec::new();
    for (module, named) in &graph {
        for other in named {
            if module < other && graph.get(other).is_some_and(|back| back.contains(module)) {
                cycles.push(format!("{module} <-> {other}"));
            }
        }
    }
    assert!(cycles.is_empty(), "modules that import each other:\n{}", cycles.join("\n"));
}

#[test]
fn the_scan_reads_grouped_and_relative_imports() {
    assert_eq!(paths_after("use crate::{auth::caller, error};", "crate::"), vec!["auth::caller", "error"]);
    assert_eq!(paths_after("use super::context::state;", "super::"), vec!["context::state"]);
    assert_eq!(paths_after("let x = crate::auth::caller(ctx);", "crate::"), vec!["auth::caller"]);
    assert_eq!(
        paths_after("use crate::stewardship::{self as domain, Actor};", "crate::"),
        vec!["stewardship", "stewardship::Actor"]
    );
    assert!(paths_after("use qiao_crate::x;", "crate::").is_empty());
}
