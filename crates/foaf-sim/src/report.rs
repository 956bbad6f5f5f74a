//! Outputs: terminal tables, CSV files and PNG/SVG plots.
//!
//! Plots use `plotters` with only its bitmap and SVG backends; text is drawn with the DejaVu
//! Sans font shipped in `assets/` (through `ab_glyph`), so no system font library is needed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::cycles::RoundStats;
use crate::imbalance::{CurvePoint, DistributionRun, ImbalanceResult, Snapshot, StrategyRun};
use crate::paper::{
    paper_figure, Interval, PaperFigure, PaperParams, PaperTable, PAPER_FIGURES,
    PAPER_HOPS_CUMULATIVE, PAPER_IMBALANCE_BEFORE, PAPER_KS_GINI, PAPER_MEDIAN_GINI_AFTER,
    PAPER_NODES_CHANNELS, PAPER_SUCCESS_BEFORE, QUANTILES,
};
use crate::payments::PaymentsResult;
use crate::privacy::PrivacyCurve;

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

pub(crate) fn err<E: std::fmt::Display>(what: &Path) -> impl FnOnce(E) -> ReportError + '_ {
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

/// Which pairs a figure is over: all ordered pairs, or those of a sample of sources.
fn pairs_label(r: &crate::metrics::RoutingStats) -> String {
    if r.all_pairs {
        "all ordered pairs".into()
    } else if r.ci95.is_some() {
        format!("pairs from {} sampled sources (95% CI)", r.sources)
    } else {
        format!(
            "pairs from {} sampled source{} (no interval from fewer than 2)",
            r.sources,
            if r.sources == 1 { "" } else { "s" }
        )
    }
}

/// The `imbalance` experiment as a terminal table.
pub fn imbalance_table(r: &ImbalanceResult) -> String {
    let mut out = String::new();
    for d in &r.distributions {
        let _ = writeln!(
            out,
            "initial balances: {} — {} nodes, {} channels; success = cheapest path (base fee) carries 1 sat, {}",
            d.initial.name(),
            d.nodes,
            d.channels,
            pairs_label(&d.before.routing)
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

/// Write `dir/name`: the header line, then whatever `body` writes; errors name the file.
fn write_csv(
    dir: &Path,
    name: &str,
    header: &str,
    body: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<PathBuf, ReportError> {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).map_err(err(&path))?;
    let mut w = std::io::BufWriter::new(file);
    (|| {
        writeln!(w, "{header}")?;
        body(&mut w)?;
        w.flush()
    })()
    .map_err(err(&path))?;
    Ok(path)
}

/// Write `imbalance_summary.csv`, `imbalance_rounds.csv`, `imbalance_ginis.csv` and
/// `imbalance_cost_per_point.csv` (FOAF's messages and bytes per success point gained, by
/// round) into `dir`.
pub fn imbalance_csv(r: &ImbalanceResult, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let summary = write_csv(dir, "imbalance_summary.csv", "initial,strategy,nodes,channels,pairs,success_rate,ci95_low,ci95_high,median_payable_msat,median_gini,network_imbalance,operations,messages,message_bytes,volume_msat,failed,refused_gini,refused_target,messages_per_success_point,seconds", |w| {
        for d in &r.distributions {
            let mut line = |name: &str, s: &Snapshot, t: &RoundStats, secs: f64| {
                let (lo, hi) = s
                    .routing
                    .ci95
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .unwrap_or_default();
                writeln!(
                    w,
                    "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3}",
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
                    per_point(t.messages, d.before.routing.success_rate, s.routing.success_rate)
                        .map(|x| format!("{x:.1}"))
                        .unwrap_or_default(),
                    secs
                )
            };
            line("before", &d.before, &RoundStats::default(), 0.0)?;
            for run in &d.runs {
                line(run.strategy.name(), &run.after, &run.totals, run.seconds)?;
            }
        }
        Ok(())
    })?;
    let rounds = write_csv(
        dir,
        "imbalance_rounds.csv",
        "initial,strategy,round,operations,messages,message_bytes,volume_msat,failed,network_imbalance,success_rate",
        |w| {
            for d in &r.distributions {
                for run in &d.runs {
                    for p in &run.curve {
                        writeln!(
                            w,
                            "{},{},{},{},{},{},{},{},{},{}",
                            d.initial.name(),
                            run.strategy.name(),
                            p.round,
                            p.totals.operations,
                            p.totals.messages,
                            p.totals.message_bytes,
                            p.totals.volume_msat,
                            p.totals.failed,
                            p.imbalance,
                            p.success_rate
                        )?;
                    }
                }
            }
            Ok(())
        },
    )?;
    let ginis = write_csv(dir, "imbalance_ginis.csv", "initial,state,node,gini", |w| {
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
        Ok(())
    })?;
    let cost = write_csv(
        dir,
        "imbalance_cost_per_point.csv",
        "initial,strategy,round,success_gain_points,messages,message_bytes,messages_per_point,bytes_per_point",
        |w| {
            for d in &r.distributions {
                for (run, p) in cost_points(d) {
                    let gain = (p.success_rate - d.before.routing.success_rate) * 100.0;
                    let per = |spent| {
                        per_point(spent, d.before.routing.success_rate, p.success_rate)
                            .map(|x| format!("{x:.1}"))
                            .unwrap_or_default()
                    };
                    writeln!(
                        w,
                        "{},{},{},{:.3},{},{},{},{}",
                        d.initial.name(),
                        run.strategy.name(),
                        p.round,
                        gain,
                        p.totals.messages,
                        p.totals.message_bytes,
                        per(p.totals.messages),
                        per(p.totals.message_bytes),
                    )?;
                }
            }
            Ok(())
        },
    )?;
    Ok(vec![summary, rounds, ginis, cost])
}

/// The rounds of every strategy that exchanges messages (FOAF), for the cost-per-point CSV
/// and plots: every round after the start.
fn cost_points(d: &DistributionRun) -> impl Iterator<Item = (&StrategyRun, &CurvePoint)> {
    d.runs
        .iter()
        .filter(|run| run.totals.messages > 0)
        .flat_map(|run| {
            run.curve
                .iter()
                .filter(|p| p.round > 0)
                .map(move |p| (run, p))
        })
}

/// The curve of messages (or bytes, `bytes`) spent per success point gained against the points
/// gained so far, one series per strategy that sends messages; rounds without a gain are left
/// out (nothing to divide by).
fn cost_series(d: &DistributionRun, bytes: bool) -> Vec<Series> {
    let before = d.before.routing.success_rate;
    d.runs
        .iter()
        .filter(|run| run.totals.messages > 0)
        .map(|run| {
            let points = run
                .curve
                .iter()
                .filter_map(|p| {
                    let spent = if bytes {
                        p.totals.message_bytes
                    } else {
                        p.totals.messages
                    };
                    let per = per_point(spent, before, p.success_rate)?;
                    Some(((p.success_rate - before) * 100.0, per))
                })
                .collect();
            Series::line(run.strategy.name(), points)
        })
        .collect()
}

/// Messages (or bytes) spent per percentage point of success gained; `None` without a gain.
pub fn per_point(spent: u64, before: f64, after: f64) -> Option<f64> {
    let gained = (after - before) * 100.0;
    (spent > 0 && gained > 0.0).then(|| spent as f64 / gained)
}

fn register_font() {
    // Registering twice is harmless; the result only says whether the bytes parse.
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
}

/// A line (or, with `markers`, a set of points) to draw.
pub(crate) struct Series {
    label: String,
    points: Vec<(f64, f64)>,
    markers: bool,
}

impl Series {
    pub(crate) fn line(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            label: label.into(),
            points,
            markers: false,
        }
    }

    pub(crate) fn markers(label: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            label: label.into(),
            points,
            markers: true,
        }
    }
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
pub(crate) struct Figure<'a> {
    pub(crate) stem: String,
    pub(crate) title: String,
    pub(crate) x_label: &'a str,
    pub(crate) y_label: &'a str,
    pub(crate) x_range: std::ops::Range<f64>,
    pub(crate) y_range: std::ops::Range<f64>,
}

impl<'a> Figure<'a> {
    /// A frame named `stem` (the files' name) with `title`; both axes unlabelled, 0 to 1.
    pub(crate) fn new(stem: impl Into<String>, title: impl Into<String>) -> Self {
        Figure {
            stem: stem.into(),
            title: title.into(),
            x_label: "",
            y_label: "",
            x_range: 0.0..1.0,
            y_range: 0.0..1.0,
        }
    }

    /// The x axis: label and range.
    pub(crate) fn x(self, label: &'a str, range: std::ops::Range<f64>) -> Self {
        Figure {
            x_label: label,
            x_range: range,
            ..self
        }
    }

    /// The y axis: label and range.
    pub(crate) fn y(self, label: &'a str, range: std::ops::Range<f64>) -> Self {
        Figure {
            y_label: label,
            y_range: range,
            ..self
        }
    }

    /// Draws `series` in this frame as `<stem>.png` and `<stem>.svg` in `dir` ([`plot_both`])
    /// and adds the two files to `files`.
    pub(crate) fn plot(
        &self,
        dir: &Path,
        series: &[Series],
        files: &mut Vec<PathBuf>,
    ) -> Result<(), ReportError> {
        files.extend(plot_both(dir, self, series)?);
        Ok(())
    }
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
        if s.markers {
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|&p| Cross::new(p, 7, color.stroke_width(3))),
                )
                .map_err(|e| e.to_string())?
                .label(s.label.clone())
                .legend(move |(x, y)| Cross::new((x + 9, y), 5, color.stroke_width(3)));
        } else {
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
pub(crate) fn plot_both(
    dir: &Path,
    fig: &Figure<'_>,
    series: &[Series],
) -> Result<Vec<PathBuf>, ReportError> {
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

/// The largest coordinate (as `pick` reads it) over all points, at least 1: an axis range.
pub(crate) fn largest(series: &[Series], pick: impl Fn(&(f64, f64)) -> f64) -> f64 {
    series
        .iter()
        .flat_map(|s| s.points.iter().map(&pick))
        .fold(1.0f64, f64::max)
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
/// coefficients before and after each strategy, success rate versus rebalancing
/// operations (log scale: log10(1 + operations)), and for the strategies that send messages
/// (FOAF) the messages and bytes spent per success point gained, round by round
/// (`cost_per_point_messages_*`, `cost_per_point_bytes_*`).
pub fn imbalance_plots(r: &ImbalanceResult, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    for d in &r.distributions {
        let name = d.initial.name();
        let mut series = vec![Series::line(
            format!("before (median {:.2})", d.before.median_gini),
            cdf(&d.before.ginis),
        )];
        for run in &d.runs {
            series.push(Series::line(
                format!(
                    "{} (median {:.2})",
                    run.strategy.name(),
                    run.after.median_gini
                ),
                cdf(&run.after.ginis),
            ));
        }
        Figure::new(
            format!("gini_cdf_{name}"),
            format!("Node imbalance before/after rebalancing ({name} start)"),
        )
        .x("node Gini coefficient G_v", 0.0..1.0)
        .y("share of nodes with G <= x", 0.0..1.0)
        .plot(dir, &series, &mut files)?;
        let series: Vec<Series> = d
            .runs
            .iter()
            .map(|run| {
                Series::line(
                    run.strategy.name(),
                    run.curve
                        .iter()
                        .map(|p| ((1.0 + p.totals.operations as f64).log10(), p.success_rate))
                        .collect(),
                )
            })
            .collect();
        let max_x = series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .fold(1.0f64, f64::max);
        Figure::new(
            format!("success_vs_operations_{name}"),
            format!("Success rate (1 sat, cheapest path) vs rebalancing ({name} start)"),
        )
        .x("log10(1 + rebalancing operations)", 0.0..max_x.ceil())
        .y("success rate", 0.0..1.0)
        .plot(dir, &series, &mut files)?;
        for (bytes, what, unit) in [
            (false, "messages", "messages per point"),
            (true, "bytes", "bytes per point"),
        ] {
            let series = cost_series(d, bytes);
            if series.iter().all(|s| s.points.is_empty()) {
                continue;
            }
            Figure::new(
                format!("cost_per_point_{what}_{name}"),
                format!("FOAF {what} per success point gained, by round ({name} start)"),
            )
            .x(
                "success gained so far (percentage points)",
                0.0..largest(&series, |p| p.0).ceil(),
            )
            .y(unit, 0.0..largest(&series, |p| p.1) * 1.1)
            .plot(dir, &series, &mut files)?;
        }
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
    let summary = write_csv(dir, "payments_summary.csv", "mode,payments,succeeded,success_rate,routed_msat,proactive_operations,proactive_messages,proactive_volume_msat,jit_attempts,jit_operations,jit_messages,jit_volume_msat,seconds", |w| {
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
        Ok(())
    })?;
    let stream = write_csv(
        dir,
        "payments_stream.csv",
        "mode,payments_done,success_rate_so_far,rebalancing_operations",
        |w| {
            for m in &r.runs {
                for p in &m.curve {
                    writeln!(w, "{},{},{},{}", m.mode.name(), p.0, p.1, p.2)?;
                }
            }
            Ok(())
        },
    )?;
    Ok(vec![summary, stream])
}

/// Plots of the `payments` experiment: success rate so far along the stream, and success rate
/// versus rebalancing operations, per mode.
pub fn payments_plots(r: &PaymentsResult, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    let series: Vec<Series> = r
        .runs
        .iter()
        .map(|m| {
            Series::line(
                m.mode.name(),
                m.curve.iter().map(|p| (p.0 as f64, p.1)).collect(),
            )
        })
        .collect();
    Figure::new("payments_success", "Payment success rate along the stream")
        .x("payments attempted", 0.0..r.payments.max(1) as f64)
        .y("success rate so far", 0.0..1.0)
        .plot(dir, &series, &mut files)?;
    let series: Vec<Series> = r
        .runs
        .iter()
        .map(|m| {
            Series::line(
                m.mode.name(),
                m.curve
                    .iter()
                    .map(|p| ((1.0 + p.2 as f64).log10(), p.1))
                    .collect(),
            )
        })
        .collect();
    let max_x = largest(&series, |p| p.0);
    Figure::new(
        "payments_success_vs_operations",
        "Payment success rate vs rebalancing operations",
    )
    .x(
        "log10(1 + rebalancing operations so far)",
        0.0..max_x.ceil(),
    )
    .y("success rate so far", 0.0..1.0)
    .plot(dir, &series, &mut files)?;
    Ok(files)
}

/// A share's mean and interval, the interval clipped to [0, 100] %.
fn interval_pct(i: &Interval) -> String {
    if i.low == i.high {
        pct(i.mean)
    } else {
        format!(
            "{} [{:.1}, {:.1}]",
            pct(i.mean),
            i.low.max(0.0) * 100.0,
            i.high.min(1.0) * 100.0
        )
    }
}

fn interval_num(i: &Interval, digits: usize) -> String {
    if i.low == i.high {
        format!("{:.*}", digits, i.mean)
    } else {
        format!(
            "{:.*} [{:.*}, {:.*}]",
            digits, i.mean, digits, i.low, digits, i.high
        )
    }
}

/// The shares of pairs whose cheapest path has at most h hops, h = 1..=len, summed over the
/// starts (their graphs differ per seed: each keeps its own strongly connected component).
pub fn hops_cumulative(t: &PaperTable) -> Vec<f64> {
    let mut hist: Vec<u64> = Vec::new();
    for st in &t.starts {
        let h = st.routes.hop_histogram(&st.graph);
        if hist.len() < h.len() {
            hist.resize(h.len(), 0);
        }
        for (d, c) in h.into_iter().enumerate() {
            hist[d] += c;
        }
    }
    let total: u64 = hist.iter().sum();
    let mut acc = 0u64;
    hist.iter()
        .skip(1)
        .map(|&c| {
            acc += c;
            acc as f64 / total.max(1) as f64
        })
        .collect()
}

/// The paper-code table: per strategy, the paper's end point next to the mean over seeds and
/// its 95 % interval.
pub fn paper_table(t: &PaperTable) -> String {
    let mut out = String::new();
    let seeds: Vec<String> = t.starts.iter().map(|s| s.seed.to_string()).collect();
    let nodes = Interval::of(
        &t.starts
            .iter()
            .map(|s| s.graph.node_count() as f64)
            .collect::<Vec<_>>(),
    );
    let chans = Interval::of(
        &t.starts
            .iter()
            .map(|s| s.graph.channel_count() as f64)
            .collect::<Vec<_>>(),
    );
    let pairs = t
        .starts
        .first()
        .map_or_else(String::new, |s| pairs_label(&s.before.routing));
    let _ = writeln!(
        out,
        "paper-code mode, seeds {}: funded strongly connected component of {} nodes, {} channels (paper: {} / {}); success = cheapest path (base fee) carries > 0, {}",
        seeds.join(","),
        interval_num(&nodes, 0),
        interval_num(&chans, 0),
        PAPER_NODES_CHANNELS.0,
        PAPER_NODES_CHANNELS.1,
        pairs
    );
    let _ = writeln!(
        out,
        "mean over seeds [95% interval]; paper = its figures, read by eye"
    );
    let _ = writeln!(
        out,
        "{:<9} {:>7} {:>22} {:>6} {:>22} {:>8} {:>20} {:>20} {:>9} {:>24} {:>6} {:>20}",
        "strategy",
        "paper",
        "success",
        "paper",
        "G",
        "paper",
        "median payable [sat]",
        "median node G",
        "paper",
        "operations",
        "steps",
        "KS(G_v) before/after"
    );
    let before_success = Interval::of(
        &t.starts
            .iter()
            .map(|s| s.before.routing.success_rate)
            .collect::<Vec<_>>(),
    );
    let before_g = Interval::of(
        &t.starts
            .iter()
            .map(|s| s.before.imbalance)
            .collect::<Vec<_>>(),
    );
    let before_pay = Interval::of(
        &t.starts
            .iter()
            .map(|s| s.before.routing.median_payable_msat as f64 / 1000.0)
            .collect::<Vec<_>>(),
    );
    let before_mg = Interval::of(
        &t.starts
            .iter()
            .map(|s| s.before.median_gini)
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(
        out,
        "{:<9} {:>7} {:>22} {:>6.3} {:>22} {:>8} {:>20} {:>20} {:>9} {:>24} {:>6} {:>20}",
        "before",
        pct(PAPER_SUCCESS_BEFORE),
        interval_pct(&before_success),
        PAPER_IMBALANCE_BEFORE,
        interval_num(&before_g, 3),
        0,
        interval_num(&before_pay, 0),
        interval_num(&before_mg, 3),
        "-",
        "-",
        "-",
        "-"
    );
    for s in &t.summaries {
        let f = paper_figure(s.params.strategy);
        let _ = writeln!(
            out,
            "{:<9} {:>7} {:>22} {:>6} {:>22} {:>8} {:>20} {:>20} {:>9} {:>24} {:>6} {:>20}",
            s.params.strategy.name(),
            f.map_or("-".into(), |f| pct(f.success_rate)),
            interval_pct(&s.success_rate),
            f.map_or("-".into(), |f| format!("{:.3}", f.imbalance)),
            interval_num(&s.imbalance, 3),
            f.map_or("-".into(), |f| format!("{:.0}", f.median_payable_sat)),
            interval_num(&s.median_payable_sat, 0),
            interval_num(&s.median_gini, 3),
            f.map_or("-".into(), |f| format!("{:.0}", f.operations)),
            interval_num(&s.operations, 0),
            interval_num(&s.rounds, 0),
            interval_num(&s.ks_gini, 2),
        );
    }
    let _ = writeln!(
        out,
        "paper after foaf: median node G {PAPER_MEDIAN_GINI_AFTER}, KS distance {PAPER_KS_GINI}; 2-cycles (count as operations, move nothing) are in `operations`"
    );
    for s in &t.summaries {
        let reach = if s.seeds_reaching_paper_g == 0 {
            "never".to_string()
        } else {
            format!(
                "{} ops ({} of {} seeds)",
                interval_num(&s.operations_to_paper_g, 0),
                s.seeds_reaching_paper_g,
                s.seeds
            )
        };
        let at_g = if s.seeds_reaching_paper_g == 0 {
            String::new()
        } else {
            format!(", success then {}", interval_pct(&s.success_at_paper_g))
        };
        let _ = writeln!(
            out,
            "{:<9} success reweighted to Fig. 1's hop mix: {}; G down to the paper's end point after {}{}",
            s.params.strategy.name(),
            interval_pct(&s.success_at_paper_hops),
            reach,
            at_g
        );
    }
    for s in &t.summaries {
        let Some(f) = paper_figure(s.params.strategy) else {
            continue;
        };
        let at = if s.seeds_at_paper_operations == 0 {
            "no step evaluated by then".to_string()
        } else {
            format!(
                "G {}, success {} ({} of {} seeds)",
                interval_num(&s.imbalance_at_paper_operations, 3),
                interval_pct(&s.success_at_paper_operations),
                s.seeds_at_paper_operations,
                s.seeds
            )
        };
        let _ = writeln!(
            out,
            "{:<9} after the paper's {:.0} operations: {}; G within {} of its end after {} ops ({:.2}x the paper's)",
            s.params.strategy.name(),
            f.operations,
            at,
            crate::paper::SETTLED_G,
            interval_num(&s.operations_to_settle, 0),
            s.operations_to_settle.mean / f.operations
        );
    }
    let hops = hops_cumulative(t);
    let _ = write!(out, "cheapest paths with <= h hops (h = 1..7): ours");
    for h in hops.iter().take(7) {
        let _ = write!(out, " {:.3}", h);
    }
    let _ = write!(out, "; paper's Fig. 1");
    for h in PAPER_HOPS_CUMULATIVE {
        let _ = write!(out, " {:.3}", h);
    }
    out.push('\n');
    for s in &t.summaries {
        let _ = write!(
            out,
            "{} {} {:.1} s",
            if std::ptr::eq(s, &t.summaries[0]) {
                "wall seconds per run (runs share the machine):"
            } else {
                ","
            },
            s.params.strategy.name(),
            s.seconds.mean
        );
    }
    out.push('\n');
    out
}

/// Write `paper_rounds.csv` (every step of every run, with its parameters and seed),
/// `paper_summary.csv` (per strategy over seeds, next to the paper's figures), `paper_hops.csv`,
/// `paper_ginis.csv` and `paper_payable_cdf.csv` into `dir`.
pub fn paper_csv(t: &PaperTable, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let rounds = write_csv(
        dir,
        "paper_rounds.csv",
        &format!("{PARAMS_HEADER},seed,round,flow_arcs,cycles_tried,operations,trivial_operations,cumulative_operations,volume_msat,network_imbalance,median_gini,success_rate,median_payable_msat"),
        |w| {
            for r in &t.runs {
                for x in &r.rounds {
                    writeln!(
                        w,
                        "{},{},{},{},{},{},{},{},{},{},{},{},{}",
                        params_csv(&r.params),
                        r.seed,
                        x.round,
                        x.flow_arcs,
                        x.cycles_tried,
                        x.operations,
                        x.trivial_operations,
                        x.cumulative_operations,
                        x.volume_msat,
                        x.imbalance,
                        x.median_gini,
                        x.success_rate.map(|v| v.to_string()).unwrap_or_default(),
                        x.median_payable_msat
                            .map(|v| v.to_string())
                            .unwrap_or_default()
                    )?;
                }
            }
            Ok(())
        },
    )?;
    let summary = write_csv(
        dir,
        "paper_summary.csv",
        &format!("{PARAMS_HEADER},seeds,figure,paper,mean,ci95_low,ci95_high"),
        |w| {
            for s in &t.summaries {
                let f = paper_figure(s.params.strategy);
                let rows: [(&str, Option<f64>, &Interval); 15] = [
                    (
                        "success_at_paper_hops",
                        f.map(|f| f.success_rate),
                        &s.success_at_paper_hops,
                    ),
                    (
                        "success_at_paper_g",
                        f.map(|f| f.success_rate),
                        &s.success_at_paper_g,
                    ),
                    (
                        "operations_to_paper_g",
                        f.map(|f| f.operations),
                        &s.operations_to_paper_g,
                    ),
                    (
                        "operations_to_settle",
                        f.map(|f| f.operations),
                        &s.operations_to_settle,
                    ),
                    (
                        "network_imbalance_at_paper_operations",
                        f.map(|f| f.imbalance),
                        &s.imbalance_at_paper_operations,
                    ),
                    (
                        "success_at_paper_operations",
                        f.map(|f| f.success_rate),
                        &s.success_at_paper_operations,
                    ),
                    ("success_rate", f.map(|f| f.success_rate), &s.success_rate),
                    ("network_imbalance", f.map(|f| f.imbalance), &s.imbalance),
                    (
                        "median_payable_sat",
                        f.map(|f| f.median_payable_sat),
                        &s.median_payable_sat,
                    ),
                    ("median_gini", None, &s.median_gini),
                    ("operations", f.map(|f| f.operations), &s.operations),
                    ("trivial_operations", None, &s.trivial_operations),
                    ("steps", None, &s.rounds),
                    ("ks_gini", None, &s.ks_gini),
                    ("seconds", None, &s.seconds),
                ];
                for (name, paper, i) in rows {
                    writeln!(
                        w,
                        "{},{},{},{},{},{},{}",
                        params_csv(&s.params),
                        s.seeds,
                        name,
                        paper.map(|p| p.to_string()).unwrap_or_default(),
                        i.mean,
                        i.low,
                        i.high
                    )?;
                }
            }
            Ok(())
        },
    )?;
    let hops = write_csv(
        dir,
        "paper_hops.csv",
        "seed,hops,pairs,share,cumulative,paper_cumulative",
        |w| {
            for st in &t.starts {
                let h = st.routes.hop_histogram(&st.graph);
                let total: u64 = h.iter().sum();
                let mut acc = 0u64;
                for (d, &c) in h.iter().enumerate().skip(1) {
                    acc += c;
                    writeln!(
                        w,
                        "{},{},{},{},{},{}",
                        st.seed,
                        d,
                        c,
                        c as f64 / total.max(1) as f64,
                        acc as f64 / total.max(1) as f64,
                        PAPER_HOPS_CUMULATIVE
                            .get(d - 1)
                            .map(|p| p.to_string())
                            .unwrap_or_default()
                    )?;
                }
            }
            Ok(())
        },
    )?;
    let ginis = write_csv(dir, "paper_ginis.csv", "seed,state,node,gini", |w| {
        for st in &t.starts {
            for (i, g) in st.node_ginis(&st.balances).iter().enumerate() {
                writeln!(w, "{},before,{},{}", st.seed, i, g)?;
            }
        }
        for r in &t.runs {
            for (i, g) in r.final_ginis.iter().enumerate() {
                writeln!(w, "{},{},{},{}", r.seed, r.params.strategy.name(), i, g)?;
            }
        }
        Ok(())
    })?;
    let payable = write_csv(
        dir,
        "paper_payable_cdf.csv",
        "seed,state,quantile,payable_msat,ks_payable",
        |w| {
            for st in &t.starts {
                for (q, v) in st.payable_quantiles().iter().enumerate() {
                    writeln!(
                        w,
                        "{},before,{},{},",
                        st.seed,
                        q as f64 / QUANTILES as f64,
                        v
                    )?;
                }
            }
            for (r, e) in t.runs.iter().zip(&t.ends) {
                for (q, v) in e.payable_quantiles.iter().enumerate() {
                    writeln!(
                        w,
                        "{},{},{},{},{}",
                        r.seed,
                        r.params.strategy.name(),
                        q as f64 / QUANTILES as f64,
                        v,
                        e.ks_payable
                    )?;
                }
            }
            Ok(())
        },
    )?;
    let by_hops = write_csv(
        dir,
        "paper_success_by_hops.csv",
        &format!("{PARAMS_HEADER},seed,hops,pairs,succeeded,success_rate,paper_share"),
        |w| {
            for (r, e) in t.runs.iter().zip(&t.ends) {
                for (h, &(p, ok)) in e.success_by_hops.iter().enumerate().skip(1) {
                    let share = PAPER_HOPS_CUMULATIVE.get(h - 1).map(|c| {
                        c - if h >= 2 {
                            PAPER_HOPS_CUMULATIVE[h - 2]
                        } else {
                            0.0
                        }
                    });
                    writeln!(
                        w,
                        "{},{},{},{},{},{},{}",
                        params_csv(&r.params),
                        r.seed,
                        h,
                        p,
                        ok,
                        ok as f64 / p.max(1) as f64,
                        share.map(|x| x.to_string()).unwrap_or_default()
                    )?;
                }
            }
            Ok(())
        },
    )?;
    Ok(vec![rounds, summary, hops, ginis, payable, by_hops])
}

/// The columns naming a paper-code run's parameters (first in every paper CSV, so shards of a
/// sweep can be concatenated and grouped).
pub const PARAMS_HEADER: &str = "strategy,max_cycle_len,strict,hop_rule,knowledge,amount_divisor,floor_msat,cycles_per_channel,rounds";

/// A run's parameters as the [`PARAMS_HEADER`] columns.
pub fn params_csv(p: &PaperParams) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{}",
        p.strategy.name(),
        p.max_cycle_len,
        p.strict,
        p.hop_rule.name(),
        p.knowledge.name(),
        p.amount_divisor,
        p.floor_msat,
        p.cycles_per_channel,
        p.rounds
    )
}

/// Plots of the paper-code table: the first seed's curves per strategy, the paper's end
/// points as crosses. `paper_imbalance_vs_operations`, `paper_success_vs_imbalance`,
/// `paper_payable_vs_imbalance`, `paper_gini_cdf`, `paper_payable_cdf`, `paper_hops`.
pub fn paper_plots(t: &PaperTable, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = Vec::new();
    let Some(first) = t.starts.first() else {
        return Ok(files);
    };
    let runs: Vec<(&crate::paper::PaperRun, &crate::paper::RunEnd)> = t
        .runs
        .iter()
        .zip(&t.ends)
        .filter(|(r, _)| r.seed == first.seed)
        .collect();
    let figures = |f: &dyn Fn(&PaperFigure) -> (f64, f64)| {
        Series::markers("paper (end points)", PAPER_FIGURES.iter().map(f).collect())
    };
    // Each curve from the start (step 0) through every step.
    type Point<'a> = &'a dyn Fn(&crate::paper::PaperRound) -> Option<(f64, f64)>;
    let curve = |r: &crate::paper::PaperRun, f: Point<'_>| {
        let start = crate::paper::PaperRound {
            round: 0,
            flow_arcs: 0,
            cycles_tried: 0,
            operations: 0,
            trivial_operations: 0,
            cumulative_operations: 0,
            volume_msat: 0,
            imbalance: first.before.imbalance,
            median_gini: first.before.median_gini,
            success_rate: Some(first.before.routing.success_rate),
            median_payable_msat: Some(first.before.routing.median_payable_msat),
        };
        std::iter::once(&start)
            .chain(&r.rounds)
            .filter_map(f)
            .collect::<Vec<_>>()
    };
    // One line per strategy (the first seed's run) through the points `point` picks.
    let per_run = |point: Point<'_>| -> Vec<Series> {
        runs.iter()
            .map(|(r, _)| Series::line(r.params.strategy.name(), curve(r, point)))
            .collect()
    };
    let mut series =
        per_run(&|x| Some(((1.0 + x.cumulative_operations as f64).log10(), x.imbalance)));
    series.push(figures(&|f| (f.operations.log10(), f.imbalance)));
    let max_x = largest(&series, |p| p.0);
    Figure::new(
        "paper_imbalance_vs_operations",
        format!(
            "Network imbalance G vs rebalancing operations (seed {})",
            first.seed
        ),
    )
    .x(
        "log10(1 + successful rebalancing operations)",
        0.0..max_x.ceil(),
    )
    .y("network imbalance G", 0.0..0.55)
    .plot(dir, &series, &mut files)?;
    let mut series = per_run(&|x| x.success_rate.map(|v| (x.imbalance, v)));
    let mut paper_pts: Vec<(f64, f64)> = PAPER_FIGURES
        .iter()
        .map(|f| (f.imbalance, f.success_rate))
        .collect();
    paper_pts.push((PAPER_IMBALANCE_BEFORE, PAPER_SUCCESS_BEFORE));
    series.push(Series::markers("paper (start, end points)", paper_pts));
    Figure::new(
        "paper_success_vs_imbalance",
        format!("Success rate vs network imbalance (seed {})", first.seed),
    )
    .x("network imbalance G", 0.1..0.55)
    .y("share of pairs whose cheapest path carries > 0", 0.0..1.0)
    .plot(dir, &series, &mut files)?;
    let mut series = per_run(&|x| {
        x.median_payable_msat
            .map(|v| (x.imbalance, v as f64 / 1000.0))
    });
    series.push(figures(&|f| (f.imbalance, f.median_payable_sat)));
    let max_y = largest(&series, |p| p.1);
    Figure::new(
        "paper_payable_vs_imbalance",
        format!(
            "Median payable amount vs network imbalance (seed {})",
            first.seed
        ),
    )
    .x("network imbalance G", 0.1..0.55)
    .y(
        "median payable amount on the cheapest path [sat]",
        0.0..max_y * 1.1,
    )
    .plot(dir, &series, &mut files)?;
    let before = first.node_ginis(&first.balances);
    let mut series = vec![Series::line(
        format!("before (median {:.2})", first.before.median_gini),
        cdf(&before),
    )];
    for (r, e) in &runs {
        series.push(Series::line(
            format!(
                "{} (median {:.2}, KS {:.2})",
                r.params.strategy.name(),
                crate::metrics::median_f64(&r.final_ginis),
                e.ks_gini
            ),
            cdf(&r.final_ginis),
        ));
    }
    Figure::new("paper_gini_cdf", format!(
                "Node Gini CDF before/after (seed {}; paper: KS {PAPER_KS_GINI}, median {PAPER_MEDIAN_GINI_AFTER})",
                first.seed
            ))
.x("node Gini coefficient G_v", 0.0..1.0)
.y("share of nodes with G_v <= x", 0.0..1.0)
.plot(dir, &series, &mut files)?;
    let qcdf = |q: &[u64]| -> Vec<(f64, f64)> {
        q.iter()
            .enumerate()
            .map(|(i, &v)| {
                (
                    (1.0 + v as f64 / 1000.0).log10(),
                    i as f64 / QUANTILES as f64,
                )
            })
            .collect()
    };
    let mut series = vec![Series::line("before", qcdf(&first.payable_quantiles()))];
    for (r, e) in &runs {
        series.push(Series::line(
            format!("{} (KS {:.2})", r.params.strategy.name(), e.ks_payable),
            qcdf(&e.payable_quantiles),
        ));
    }
    Figure::new(
        "paper_payable_cdf",
        format!(
            "Payable amounts on all cheapest paths (seed {})",
            first.seed
        ),
    )
    .x("log10(1 + largest payable amount [sat])", 0.0..8.0)
    .y("share of pairs paying <= x", 0.0..1.0)
    .plot(dir, &series, &mut files)?;
    let ours = hops_cumulative(t);
    let series = vec![
        Series::line(
            format!("ours ({} seeds)", t.starts.len()),
            ours.iter()
                .enumerate()
                .map(|(h, &c)| ((h + 1) as f64, c))
                .collect(),
        ),
        Series::markers(
            "paper, Fig. 1 (Oct 2019)",
            PAPER_HOPS_CUMULATIVE
                .iter()
                .enumerate()
                .map(|(h, &c)| ((h + 1) as f64, c))
                .collect(),
        ),
    ];
    Figure::new("paper_hops", "Cheapest paths (base fee) by hop count")
        .x("hops h", 0.0..(ours.len().max(7) as f64 + 1.0))
        .y("share of pairs with <= h hops", 0.0..1.05)
        .plot(dir, &series, &mut files)?;
    Ok(files)
}

/// The privacy experiment as a terminal table: interval width (share of capacity) after
/// 1, 5, 10, 20 and 30 messages, and how often the interval still holds the truth.
pub fn privacy_table(curves: &[PrivacyCurve]) -> String {
    let mut out = String::new();
    let ks: Vec<usize> = [1usize, 5, 10, 20, 30]
        .into_iter()
        .filter(|&k| curves.first().is_some_and(|c| k <= c.median_width.len()))
        .collect();
    let _ = write!(out, "{:<16} {:<11}", "attacker", "obfuscation");
    for k in &ks {
        let _ = write!(out, " {:>18}", format!("after {k} msgs"));
    }
    out.push('\n');
    for c in curves {
        let _ = write!(
            out,
            "{:<16} {:<11}",
            c.attacker,
            if c.obfuscation { "on (A05)" } else { "off" }
        );
        for &k in &ks {
            let _ = write!(
                out,
                " {:>18}",
                format!(
                    "{:.4} ({:.0}% ok)",
                    c.median_width[k - 1],
                    c.contains[k - 1] * 100.0
                )
            );
        }
        out.push('\n');
    }
    out.push_str("cells: median width of the balance interval as a share of capacity (ok: intervals still holding the true balance)\n");
    out
}

/// Write `privacy.csv` and the `privacy_width` / `privacy_contains` plots.
pub fn privacy_outputs(
    curves: &[PrivacyCurve],
    dir: &Path,
    plots: bool,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut files = vec![write_csv(
        dir,
        "privacy.csv",
        "attacker,obfuscation,messages,median_width_share,p90_width_share,contains_truth",
        |w| {
            for c in curves {
                for k in 0..c.median_width.len() {
                    writeln!(
                        w,
                        "{},{},{},{},{},{}",
                        c.attacker,
                        c.obfuscation,
                        k + 1,
                        c.median_width[k],
                        c.p90_width[k],
                        c.contains[k]
                    )?;
                }
            }
            Ok(())
        },
    )?];
    if !plots {
        return Ok(files);
    }
    let label = |c: &PrivacyCurve| {
        format!(
            "{}{}",
            c.attacker,
            if c.obfuscation { ", obfuscated" } else { "" }
        )
    };
    let n = curves.first().map_or(1, |c| c.median_width.len());
    let series: Vec<Series> = curves
        .iter()
        .map(|c| {
            Series::line(
                label(c),
                c.median_width
                    .iter()
                    .enumerate()
                    .map(|(k, &w)| ((k + 1) as f64, w.max(1e-6).log10()))
                    .collect(),
            )
        })
        .collect();
    Figure::new(
        "privacy_width",
        "What a peer learns of a remote channel's balance",
    )
    .x(
        "messages (queries, or probes for `probe`)",
        0.0..(n as f64 + 1.0),
    )
    .y("log10(median interval width / capacity)", -6.5..0.2)
    .plot(dir, &series, &mut files)?;
    let series: Vec<Series> = curves
        .iter()
        .map(|c| {
            Series::line(
                label(c),
                c.contains
                    .iter()
                    .enumerate()
                    .map(|(k, &x)| ((k + 1) as f64, x))
                    .collect(),
            )
        })
        .collect();
    Figure::new(
        "privacy_contains",
        "Intervals that still hold the true balance",
    )
    .x("messages", 0.0..(n as f64 + 1.0))
    .y("share of targets", 0.0..1.05)
    .plot(dir, &series, &mut files)?;
    Ok(files)
}
