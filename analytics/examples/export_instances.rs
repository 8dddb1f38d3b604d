//! Writes the synthetic instances of the re-gridding benchmark for the spopt
//! comparison (`bench/regrid/run.sh`): per size, `units_<n>.csv`
//! (`id,x_m,y_m,households`, projected metres) and `edges_<n>.csv` (`a,b`,
//! the same adjacency graph the recommender uses), then our own result in
//! `ours_<n>.json` (run time, grids, violations).
//!
//! `cargo run --release -p analytics --example export_instances -- <dir> [sizes…]`

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use analytics::regrid::{adjacency, regrid, synthetic_town, RegridParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: export_instances <dir> [sizes…]")?,
    );
    let mut sizes: Vec<usize> = args.filter_map(|a| a.parse().ok()).collect();
    if sizes.is_empty() {
        sizes = vec![500, 2_000, 5_000, 10_000];
    }
    std::fs::create_dir_all(&dir)?;
    for n in sizes {
        let input = synthetic_town(n, 42);
        let params = RegridParams::micro(30, 80).with_seed(42);
        let lat0 = input.units.iter().map(|u| u.point.y()).sum::<f64>() / n as f64;
        let lon0 = input.units.iter().map(|u| u.point.x()).sum::<f64>() / n as f64;
        let kx = 111_320.0 * lat0.to_radians().cos();
        let mut w = BufWriter::new(File::create(dir.join(format!("units_{n}.csv")))?);
        writeln!(w, "id,x_m,y_m,households")?;
        for u in &input.units {
            writeln!(
                w,
                "{},{:.2},{:.2},{}",
                u.id,
                (u.point.x() - lon0) * kx,
                (u.point.y() - lat0) * 110_574.0,
                u.households
            )?;
        }
        w.flush()?;
        let adj = adjacency(&input, &params)?;
        let mut w = BufWriter::new(File::create(dir.join(format!("edges_{n}.csv")))?);
        writeln!(w, "a,b,crossing")?;
        for e in &adj.edges {
            writeln!(w, "{},{},{}", e.a, e.b, u8::from(e.crossing.is_some()))?;
        }
        w.flush()?;
        let t = Instant::now();
        let p = regrid(&input, &params, &mut |_| {})?;
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        let summary = serde_json::json!({
            "units": n,
            "time_ms": ms,
            "grids": p.grids.len(),
            "violations": p.report.violations,
            "over_max": p.report.after.over,
            "under_min": p.report.after.under,
        });
        std::fs::write(dir.join(format!("ours_{n}.json")), summary.to_string())?;
        println!("{summary}");
    }
    Ok(())
}
