//! Outputs: terminal tables, CSV files and PNG/SVG plots.
//!
//! Plots use `plotters` with only its bitmap and SVG backends; text is drawn with the DejaVu
//! Sans font shipped in `assets/` (through `ab_glyph`), so no system font library is needed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::cycles::RoundStats;
use crate::imbalance::{ImbalanceResult, Snapshot};
use crate::payments::PaymentsResult;

const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// A failure writing outputs.
#[derive(Debug)]
pub struct ReportError(pub String);

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReportError {}

fn err<E: std::fmt::Display>(what: &Path) -> impl FnOnce(E) -> ReportError + '_ {
    move |e| ReportError(format!("{}: {e}", what.display()))
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn sat(msat: u64) -> String {
    format!("{}", msat / 1000)
}

fn routing_cell(s: &Snapshot) -> String {
    match s.routing.ci95 {
        Some((lo, hi)) => format!("{} [{}, {}]", pct(s.routing.success_rate), pct(lo), pct(hi)),
        None => pct(s.routing.success_rate),
    }
}

/// The `imbalance` experiment as a terminal table.
pub fn imbalance_table(r: &ImbalanceResult) -> String {
    let mut out = String::new();
    for d in &r.distributions {
        let _ = writeln!(
            out,
            "initial balances: {} — {} nodes, {} channels; success = cheapest path (base fee) carries 1 sat{}",
            d.initial.name(),
            d.nodes,
            d.channels,
            if d.before.routing.ci95.is_some() {
                " (sampled sources, 95% CI)"
            } else {
                ", all ordered pairs"
            }
        );
        let _ = writeln!(
            out,
            "{:<9} {:>22} {:>14} {:>8} {:>8} {:>9} {:>8} {:>10} {:>12} {:>8}",
            "strategy",
            "success",
            "median [sat]",
            "med. G",
            "G",
            "ops",
            "failed",
            "messages",
            "moved [BTC]",
            "time [s]"
        );
        let row = |out: &mut String,
                   name: &str,
                   s: &Snapshot,
                   ops: String,
                   failed: String,
                   msgs: String,
                   vol: String,
                   t: String| {
            let _ = writeln!(
                out,
                "{:<9} {:>22} {:>14} {:>8.3} {:>8.3} {:>9} {:>8} {:>10} {:>12} {:>8}",
                name,
                routing_cell(s),
                sat(s.routing.median_payable_msat),
                s.median_gini,
                s.imbalance,
                ops,
                failed,
                msgs,
                vol,
                t
            );
        };
        row(
            &mut out,
            "before",
            &d.before,
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
        );
        for run in &d.runs {
            row(
                &mut out,
                run.strategy.name(),
                &run.after,
                run.totals.operations.to_string(),
                run.totals.failed.to_string(),
                run.totals.messages.to_string(),
                format!("{:.3}", run.totals.volume_msat as f64 / 1e11),
                format!("{:.1}", run.seconds),
            );
        }
        out.push('\n');
    }
    out
}

fn create(path: &Path) -> Result<std::io::BufWriter<std::fs::File>, ReportError> {
    Ok(std::io::BufWriter::new(
        std::fs::File::create(path).map_err(err(path))?,
    ))
}

/// Write `imbalance_summary.csv`, `imbalance_rounds.csv` and `imbalance_ginis.csv` into `dir`.
pub fn imbalance_csv(r: &ImbalanceResult, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let summary = dir.join("imbalance_summary.csv");
    let mut w = create(&summary)?;
    let io = err(&summary);
    (|| -> std::io::Result<()> {
        writeln!(w, "initial,strategy,nodes,channels,pairs,success_rate,ci95_low,ci95_high,median_payable_msat,median_gini,network_imbalance,operations,messages,message_bytes,volume_msat,failed,refused_gini,refused_target,seconds")?;
        for d in &r.distributions {
            let mut line = |name: &str, s: &Snapshot, t: &RoundStats, secs: f64| {
                let (lo, hi) = s
                    .routing
                    .ci95
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .unwrap_or_default();
                writeln!(
                    w,
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3}",
                    d.initial.name(),
                    name,
                    d.nodes,
                    d.channels,
                    s.routing.pairs,
                    s.routing.success_rate,
                    lo,
                    hi,
                    s.routing.median_payable_msat,
                    s.median_gini,
                    s.imbalance,
                    t.operations,
                    t.messages,
                    t.message_bytes,
                    t.volume_msat,
                    t.failed,
                    t.refused_gini,
                    t.refused_target,
                    secs
                )
            };
            line("before", &d.before, &RoundStats::default(), 0.0)?;
            for run in &d.runs {
                line(run.strategy.name(), &run.after, &run.totals, run.seconds)?;
            }
        }
        w.flush()
    })()
    .map_err(io)?;

    let rounds = dir.join("imbalance_rounds.csv");
    let mut w = create(&rounds)?;
    (|| -> std::io::Result<()> {
        writeln!(
            w,
            "initial,strategy,round,operations,messages,volume_msat,failed,network_imbalance,success_rate"
        )?;
        for d in &r.distributions {
            for run in &d.runs {
                for p in &run.curve {
                    writeln!(
                        w,
                        "{},{},{},{},{},{},{},{},{}",
                        d.initial.name(),
                        run.strategy.name(),
                        p.round,
                        p.totals.operations,
                        p.totals.messages,
                        p.totals.volume_msat,
                        p.totals.failed,
                        p.imbalance,
                        p.success_rate
                    )?;
                }
            }
        }
        w.flush()
    })()
    .map_err(err(&rounds))?;

    let ginis = dir.join("imbalance_ginis.csv");
    let mut w = create(&ginis)?;
    (|| -> std::io::Result<()> {
        writeln!(w, "initial,state,node,gini")?;
        for d in &r.distributions {
            for (i, g) in d.before.ginis.iter().enumerate() {
                writeln!(w, "{},before,{},{}", d.initial.name(), i, g)?;
            }
            for run in &d.runs {
                for (i, g) in run.after.ginis.iter().enumerate() {
                    writeln!(
                        w,
                        "{},{},{},{}",
                        d.initial.name(),
                        run.strategy.name(),
                        i,
                        g
                    )?;
                }
            }
        }
        w.flush()
    })()
    .map_err(err(&ginis))?;
    Ok(vec![summary, rounds, ginis])
}

fn register_font() {
    // Registering twice is harmless; the result only says whether the bytes parse.
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
}

/// A line to draw.
struct Series {
    label: String,
    points: Vec<(f64, f64)>,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(0, 0, 0),
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
];

/// A figure's frame: file stem, title, axis labels and ranges.
struct Figure<'a> {
    stem: String,
    title: String,
    x_label: &'a str,
    y_label: &'a str,
    x_range: std::ops::Range<f64>,
    y_range: std::ops::Range<f64>,
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    fig: &Figure<'_>,
    series: &[Series],
) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&fig.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(fig.x_range.clone(), fig.y_range.clone())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc(fig.x_label)
        .y_desc(fig.y_label)
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, s) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        chart
            .draw_series(LineSeries::new(
                s.points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())
}

/// Draw one figure as `<stem>.png` and `<stem>.svg`.
fn plot_both(dir: &Path, fig: &Figure<'_>, series: &[Series]) -> Result<Vec<PathBuf>, ReportError> {
    register_font();
    let png = dir.join(format!("{}.png", fig.stem));
    let svg = dir.join(format!("{}.svg", fig.stem));
    draw(
        BitMapBackend::new(&png, (800, 560)).into_drawing_area(),
        fig,
        series,
    )
    .map_err(|e| ReportError(format!("{}: {e}", png.display())))?;
    draw(
        SVGBackend::new(&svg, (800, 560)).into_drawing_area(),
        fig,
        series,
    )
    .map_err(|e| ReportError(format!("{}: {e}", svg.display())))?;
    Ok(vec![png, svg])
}

/// The empirical CDF of a list of values in [0, 1], as a step line.
fn cdf(values: &[f64]) -> Vec<(f64, f64)> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len().max(1) as f64;
    let mut pts = vec![(0.0, 0.0)];
    for (i, x) in v.iter().enumerate() {
        pts.push((*x, i as f64 / n));
        pts.push((*x, (i + 1) as f64 / n));
    }
    pts.push((1.0, 1.0));
    pts
}

/// Plots of the `imbalance` experiment: per initial distribution, the CDF of node Gini
/// coefficients before and after each strategy, and success rate versus rebalancing
/// operations (log scale: log10(1 + operations)).
pub fn imbalance_plots(r: &ImbalanceResult, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    for d in &r.distributions {
        let name = d.initial.name();
        let mut series = vec![Series {
            label: format!("before (median {:.2})", d.before.median_gini),
            points: cdf(&d.before.ginis),
        }];
        for run in &d.runs {
            series.push(Series {
                label: format!(
                    "{} (median {:.2})",
                    run.strategy.name(),
                    run.after.median_gini
                ),
                points: cdf(&run.after.ginis),
            });
        }
        files.extend(plot_both(
            dir,
            &Figure {
                stem: format!("gini_cdf_{name}"),
                title: format!("Node imbalance before/after rebalancing ({name} start)"),
                x_label: "node Gini coefficient G_v",
                y_label: "share of nodes with G <= x",
                x_range: 0.0..1.0,
                y_range: 0.0..1.0,
            },
            &series,
        )?);
        let series: Vec<Series> = d
            .runs
            .iter()
            .map(|run| Series {
                label: run.strategy.name().to_string(),
                points: run
                    .curve
                    .iter()
                    .map(|p| ((1.0 + p.totals.operations as f64).log10(), p.success_rate))
                    .collect(),
            })
            .collect();
        let max_x = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .fold(1.0f64, f64::max);
        files.extend(plot_both(
            dir,
            &Figure {
                stem: format!("success_vs_operations_{name}"),
                title: format!("Success rate (1 sat, cheapest path) vs rebalancing ({name} start)"),
                x_label: "log10(1 + rebalancing operations)",
                y_label: "success rate",
                x_range: 0.0..max_x.ceil(),
                y_range: 0.0..1.0,
            },
            &series,
        )?);
    }
    Ok(files)
}

/// The `payments` experiment as a terminal table.
pub fn payments_table(r: &PaymentsResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} payments, sizes log-uniform in [{}, {}] sat, {} nodes, {} channels, initial balances {}",
        r.payments, r.min_sat, r.max_sat, r.nodes, r.channels, r.initial
    );
    let _ = writeln!(
        out,
        "{:<8} {:>9} {:>13} {:>10} {:>10} {:>10} {:>12} {:>8}",
        "mode",
        "success",
        "routed [BTC]",
        "reb. ops",
        "JIT ops",
        "messages",
        "moved [BTC]",
        "time [s]"
    );
    for m in &r.runs {
        let _ = writeln!(
            out,
            "{:<8} {:>9} {:>13.3} {:>10} {:>10} {:>10} {:>12.3} {:>8.1}",
            m.mode.name(),
            pct(m.succeeded as f64 / r.payments.max(1) as f64),
            m.routed_msat as f64 / 1e11,
            m.proactive.operations,
            m.jit.operations,
            m.proactive.messages + m.jit.messages,
            (m.proactive.volume_msat + m.jit.volume_msat) as f64 / 1e11,
            m.seconds
        );
    }
    out
}

/// Write `payments_summary.csv` and `payments_stream.csv`.
pub fn payments_csv(r: &PaymentsResult, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let summary = dir.join("payments_summary.csv");
    let mut w = create(&summary)?;
    (|| -> std::io::Result<()> {
        writeln!(w, "mode,payments,succeeded,success_rate,routed_msat,proactive_operations,proactive_messages,proactive_volume_msat,jit_attempts,jit_operations,jit_messages,jit_volume_msat,seconds")?;
        for m in &r.runs {
            writeln!(
                w,
                "{},{},{},{},{},{},{},{},{},{},{},{},{:.3}",
                m.mode.name(),
                r.payments,
                m.succeeded,
                m.succeeded as f64 / r.payments.max(1) as f64,
                m.routed_msat,
                m.proactive.operations,
                m.proactive.messages,
                m.proactive.volume_msat,
                m.jit_attempts,
                m.jit.operations,
                m.jit.messages,
                m.jit.volume_msat,
                m.seconds
            )?;
        }
        w.flush()
    })()
    .map_err(err(&summary))?;
    let stream = dir.join("payments_stream.csv");
    let mut w = create(&stream)?;
    (|| -> std::io::Result<()> {
        writeln!(
            w,
            "mode,payments_done,success_rate_so_far,rebalancing_operations"
        )?;
        for m in &r.runs {
            for p in &m.curve {
                writeln!(w, "{},{},{},{}", m.mode.name(), p.0, p.1, p.2)?;
            }
        }
        w.flush()
    })()
    .map_err(err(&stream))?;
    Ok(vec![summary, stream])
}

/// Plots of the `payments` experiment: success rate so far along the stream, and success rate
/// versus rebalancing operations, per mode.
pub fn payments_plots(r: &PaymentsResult, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    let series: Vec<Series> = r
        .runs
        .iter()
        .map(|m| Series {
            label: m.mode.name().to_string(),
            points: m.curve.iter().map(|p| (p.0 as f64, p.1)).collect(),
        })
        .collect();
    files.extend(plot_both(
        dir,
        &Figure {
            stem: "payments_success".to_string(),
            title: "Payment success rate along the stream".to_string(),
            x_label: "payments attempted",
            y_label: "success rate so far",
            x_range: 0.0..r.payments.max(1) as f64,
            y_range: 0.0..1.0,
        },
        &series,
    )?);
    let series: Vec<Series> = r
        .runs
        .iter()
        .map(|m| Series {
            label: m.mode.name().to_string(),
            points: m
                .curve
                .iter()
                .map(|p| ((1.0 + p.2 as f64).log10(), p.1))
                .collect(),
        })
        .collect();
    let max_x = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    files.extend(plot_both(
        dir,
        &Figure {
            stem: "payments_success_vs_operations".to_string(),
            title: "Payment success rate vs rebalancing operations".to_string(),
            x_label: "log10(1 + rebalancing operations so far)",
            y_label: "success rate so far",
            x_range: 0.0..max_x.ceil(),
            y_range: 0.0..1.0,
        },
        &series,
    )?);
    Ok(files)
}
