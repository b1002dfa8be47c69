//! The page's weight: what a browser downloads for the lab (the wasm, its JS glue and the
//! stylesheet), gzipped as a server would send it, against the 300 KB target.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use flate2::Compression;
use flate2::write::GzEncoder;

use crate::measure::Summary;

const TARGET_KB: f64 = 300.0;

/// Bytes of `data` gzipped at the best level.
fn gzipped(data: &[u8]) -> Result<usize> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data)?;
    Ok(encoder.finish()?.len())
}

pub(crate) fn report(summary: &mut Summary, dist: &Path) -> Result<()> {
    let mut parts = Vec::new();
    for entry in fs::read_dir(dist).with_context(|| format!("reading {}", dist.display()))? {
        let path = entry?.path();
        let kind = match path.extension().and_then(|e| e.to_str()) {
            Some("wasm") => "wasm",
            Some("js") => "js",
            Some("css") => "css",
            _ => continue,
        };
        let data = fs::read(&path)?;
        parts.push((kind, data.len(), gzipped(&data)?));
    }
    if !parts.iter().any(|(kind, ..)| *kind == "wasm") {
        bail!(
            "{} holds no .wasm: build the page first (cargo xtask build)",
            dist.display()
        );
    }
    parts.sort();
    let total: usize = parts.iter().map(|(_, _, gz)| gz).sum();
    summary.heading("Page (what the browser downloads, gzipped -9)");
    for (kind, raw, gz) in &parts {
        summary.line(format!(
            "{kind:5} {:8.1} KB raw, {:7.1} KB gzipped",
            *raw as f64 / 1000.0,
            *gz as f64 / 1000.0
        ));
    }
    summary.line(format!(
        "total {:7.1} KB gzipped: x{:.2} the {TARGET_KB:.0} KB target",
        total as f64 / 1000.0,
        total as f64 / 1000.0 / TARGET_KB
    ));
    Ok(())
}
