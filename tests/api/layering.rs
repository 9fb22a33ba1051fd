//! The house's one-way rule, checked from the source: among the layers
//! below, no module depends (through `crate::…` paths) on one that depends
//! back on it, directly or around a cycle. `app` wires them all together
//! and is left out; `model` is the shared vocabulary every layer may use.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LAYERS: [&str; 6] = ["api", "auth", "bus", "chat", "gateway", "store"];

fn sources(layer: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let single = src.join(format!("{layer}.rs"));
    if single.exists() {
        files.push(single);
    }
    let mut dirs = vec![src.join(layer)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files
}

/// Which other layers each layer's source names.
fn dependencies() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    LAYERS
        .iter()
        .map(|&layer| {
            let files = sources(layer);
            assert!(!files.is_empty(), "no source found for {layer}");
            let mut uses = BTreeSet::new();
            for file in files {
                let text = std::fs::read_to_string(&file).expect("readable source");
                assert!(
                    !text.contains("crate::{"),
                    "{}: name each layer on its own `use crate::…` line",
                    file.display()
                );
                for other in LAYERS {
                    if other != layer && text.contains(&format!("crate::{other}::")) {
                        uses.insert(other);
                    }
                }
            }
            (layer, uses)
        })
        .collect()
}

/// A path `from` → … → `to`, if there is one.
fn path(
    graph: &BTreeMap<&'static str, BTreeSet<&'static str>>,
    from: &'static str,
    to: &str,
) -> Option<Vec<&'static str>> {
    let mut stack = vec![vec![from]];
    let mut seen = BTreeSet::new();
    while let Some(route) = stack.pop() {
        let last = *route.last()?;
        if last == to && route.len() > 1 {
            return Some(route);
        }
        if !seen.insert(last) {
            continue;
        }
        for next in &graph[last] {
            let mut longer = route.clone();
            longer.push(next);
            stack.push(longer);
        }
    }
    None
}

#[test]
fn the_layers_depend_one_way() {
    let graph = dependencies();
    for layer in LAYERS {
        if let Some(cycle) = path(&graph, layer, layer) {
            panic!("module cycle {}; all edges: {graph:?}", cycle.join(" -> "));
        }
    }
    // The core knows no wire format, and the bus and the store know no core.
    for (layer, forbidden) in [
        ("chat", "gateway"),
        ("chat", "api"),
        ("bus", "chat"),
        ("store", "chat"),
        ("bus", "store"),
    ] {
        assert!(
            !graph[layer].contains(forbidden),
            "{layer} depends on {forbidden}: {graph:?}"
        );
    }
}

#[test]
fn a_cycle_would_be_found() {
    let mut graph: BTreeMap<&'static str, BTreeSet<&'static str>> =
        LAYERS.iter().map(|&l| (l, BTreeSet::new())).collect();
    graph.get_mut("chat").map(|d| d.insert("store"));
    assert_eq!(path(&graph, "chat", "chat"), None);
    graph.get_mut("store").map(|d| d.insert("bus"));
    graph.get_mut("bus").map(|d| d.insert("chat"));
    assert_eq!(
        path(&graph, "chat", "chat"),
        Some(vec!["chat", "store", "bus", "chat"])
    );
}
