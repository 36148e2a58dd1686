//! `plot.svg`: throughput and p99 latency against users, one line per subject (and locking mode).
//!
//! Hand-written SVG: two small line charts need no plotting crate, and the harness stays quick to build.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::run::{LoadReport, RunStatus};

const PANEL_W: f64 = 440.0;
const PANEL_H: f64 = 300.0;
const MARGIN_L: f64 = 64.0;
/// Space between the y axis (or the right edge) and the first (last) user count.
const INSET_X: f64 = 24.0;
const MARGIN_R: f64 = 16.0;
const MARGIN_T: f64 = 36.0;
const MARGIN_B: f64 = 48.0;
const LEGEND_H: f64 = 24.0;
const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
];

/// A plot shows a trend only when some series has more than one user count.
pub fn worth_plotting(report: &LoadReport) -> bool {
    series(report, |_| Some(0.0))
        .values()
        .any(|points| points.len() > 1)
}

/// Points `(users, value)` of each series, from the runs that ran.
fn series(
    report: &LoadReport,
    value: impl Fn(&super::run::RunRecord) -> Option<f64>,
) -> BTreeMap<String, Vec<(usize, f64)>> {
    let mut series: BTreeMap<String, Vec<(usize, f64)>> = BTreeMap::new();
    for run in report.runs.iter().filter(|r| r.status == RunStatus::Ran) {
        if let Some(v) = value(run) {
            series.entry(run.series()).or_default().push((run.users, v));
        }
    }
    for points in series.values_mut() {
        points.sort_by_key(|p| p.0);
    }
    series
}

pub fn svg(report: &LoadReport) -> String {
    let throughput = series(report, |r| r.requests_per_s);
    let p99 = series(report, |r| r.goose.as_ref().map(|g| g.latency.p99_ms));
    let mut names_unique: Vec<String> = throughput.keys().chain(p99.keys()).cloned().collect();
    names_unique.sort();
    names_unique.dedup();
    let colour = |name: &str| {
        let at = names_unique.iter().position(|n| n == name).unwrap_or(0);
        COLOURS[at % COLOURS.len()]
    };
    let mut users: Vec<usize> = report
        .runs
        .iter()
        .filter(|r| r.status == RunStatus::Ran)
        .map(|r| r.users)
        .collect();
    users.sort_unstable();
    users.dedup();

    let width = PANEL_W * 2.0;
    let height = PANEL_H + LEGEND_H + 28.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">{} on {}: {} s per point</text>",
        width / 2.0,
        escape(&report.profile.name),
        escape(report.backend.as_deref().unwrap_or("(no backend)")),
        report.duration_s
    );
    // The backend ceiling in pairs/s, as a reference line: one pair is about one session request.
    let ceilings: Vec<f64> = report
        .runs
        .iter()
        .filter_map(|r| r.ceiling_pairs_per_s)
        .collect();
    let reference = (!ceilings.is_empty()).then(|| {
        (
            ceilings.iter().sum::<f64>() / ceilings.len() as f64,
            "backend ceiling (mean), pairs/s",
        )
    });
    panel(
        &mut svg,
        0.0,
        "throughput (req/s)",
        &throughput,
        &users,
        reference,
        &colour,
    );
    panel(
        &mut svg,
        PANEL_W,
        "p99 latency (ms)",
        &p99,
        &users,
        None,
        &colour,
    );
    let mut x = MARGIN_L;
    let y = PANEL_H + 20.0;
    // Subjects that did not run still get a legend entry, so the plot says they were asked for.
    let mut skipped: Vec<String> = report
        .runs
        .iter()
        .map(|r| r.series())
        .filter(|name| !names_unique.contains(name))
        .collect();
    skipped.dedup();
    for name in &names_unique {
        let _ = writeln!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"14\" height=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{y}\">{}</text>",
            y - 6.0,
            colour(name),
            x + 18.0,
            escape(name)
        );
        x += 30.0 + 7.0 * name.chars().count() as f64;
    }
    for name in &skipped {
        let text = format!("{name}: did not run (see summary.md)");
        let _ = writeln!(
            svg,
            "<text x=\"{x}\" y=\"{y}\" fill=\"#888\">{}</text>",
            escape(&text)
        );
        x += 20.0 + 7.0 * text.chars().count() as f64;
    }
    svg.push_str("</svg>\n");
    svg
}

/// One chart: users on x (evenly spaced, as user counts usually double), the value on y from 0.
fn panel(
    svg: &mut String,
    left: f64,
    title: &str,
    series: &BTreeMap<String, Vec<(usize, f64)>>,
    users: &[usize],
    reference: Option<(f64, &str)>,
    colour: &dyn Fn(&str) -> &'static str,
) {
    let plot_w = PANEL_W - MARGIN_L - MARGIN_R;
    let plot_h = PANEL_H - MARGIN_T - MARGIN_B;
    let x0 = left + MARGIN_L;
    let y0 = MARGIN_T + plot_h;
    let max_value = series
        .values()
        .flatten()
        .map(|p| p.1)
        .chain(reference.map(|r| r.0))
        .fold(0.0_f64, f64::max);
    let (top, step) = nice_axis(max_value);
    let x_of = |u: usize| {
        let at = users.iter().position(|&v| v == u).unwrap_or(0) as f64;
        let slots = (users.len().max(2) - 1) as f64;
        x0 + INSET_X + (plot_w - 2.0 * INSET_X) * at / slots
    };
    let y_of = |v: f64| y0 - plot_h * (v / top);

    let _ = writeln!(
        svg,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\">{}</text>",
        x0 + plot_w / 2.0,
        MARGIN_T - 10.0,
        escape(title)
    );
    let mut tick = 0.0;
    while tick <= top + step / 2.0 {
        let y = y_of(tick);
        let _ = writeln!(
            svg,
            "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            x0 + plot_w,
            x0 - 6.0,
            y + 4.0,
            tick_label(tick)
        );
        tick += step;
    }
    for &u in users {
        let x = x_of(u);
        let _ = writeln!(
            svg,
            "<line x1=\"{x:.1}\" y1=\"{y0}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#333\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{u}</text>",
            y0 + 5.0,
            y0 + 18.0
        );
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{x0}\" y1=\"{y0}\" x2=\"{:.1}\" y2=\"{y0}\" stroke=\"#333\"/>\
         <line x1=\"{x0}\" y1=\"{MARGIN_T}\" x2=\"{x0}\" y2=\"{y0}\" stroke=\"#333\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">users</text>",
        x0 + plot_w,
        x0 + plot_w / 2.0,
        y0 + 36.0
    );
    if let Some((value, label)) = reference {
        let y = y_of(value);
        let _ = writeln!(
            svg,
            "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#888\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#666\">{}</text>",
            x0 + plot_w,
            x0 + plot_w - 4.0,
            y - 4.0,
            escape(label)
        );
    }
    for (name, points) in series {
        let colour = colour(name);
        let path: Vec<String> = points
            .iter()
            .map(|&(u, v)| format!("{:.1},{:.1}", x_of(u), y_of(v)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            path.join(" ")
        );
        for &(u, v) in points {
            let _ = writeln!(
                svg,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{colour}\"><title>{}: {u} users, {}</title></circle>",
                x_of(u),
                y_of(v),
                escape(name),
                tick_label(v)
            );
        }
    }
}

/// An axis top at or above `max` and a step of 1, 2 or 5 × 10^n giving about five gridlines.
fn nice_axis(max: f64) -> (f64, f64) {
    if max <= 0.0 || !max.is_finite() {
        return (1.0, 0.2);
    }
    let rough = max / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    ((max / step).ceil() * step, step)
}

fn tick_label(value: f64) -> String {
    if value >= 100.0 || value == value.trunc() {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_round() {
        assert_eq!(nice_axis(0.0), (1.0, 0.2));
        assert_eq!(nice_axis(87.0), (100.0, 20.0));
        assert_eq!(nice_axis(1234.0), (1500.0, 500.0));
        assert_eq!(nice_axis(4.2), (5.0, 1.0));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
