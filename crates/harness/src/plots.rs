//! `make bench`'s charts, drawn as SVG with plotters: the latency CDFs of
//! the batching profiles, the cost per million orders by service, the cold
//! starts next to the floor and the throughput search. Each function takes
//! plain data and writes one file; a chart without data says "no data"
//! instead of failing, so a short or partial run still leaves every file.
//!
//! Text is laid out with plotters' own size estimate (no font files): the
//! SVG names the font family and the viewer draws the glyphs.

use plotters::coord::Shift;
use plotters::prelude::{
    BLACK, ChartBuilder, Circle, Color, Cross, DrawingArea, DrawingAreaErrorKind, IntoDrawingArea, IntoFont,
    IntoSegmentedCoord, LineSeries, PathElement, RGBColor, Rectangle, SVGBackend, SegmentValue,
    SeriesLabelPosition, Text, TextStyle, WHITE,
};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};

/// A chart that could not be drawn or written, and which file it was.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// plotters could not draw the chart.
    #[error("drawing the chart {path}: {message}")]
    Draw {
        /// The chart's file.
        path: String,
        /// plotters' error.
        message: String,
    },
    /// A file or the directory could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file or directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One line of a latency CDF: a batching profile's latencies, one sample
/// per order, in milliseconds (in any order; non-finite ones are left out).
#[derive(Debug, Clone, Default)]
pub struct LatencySeries {
    /// The legend's name of the line.
    pub label: String,
    /// The latencies, in ms.
    pub samples_ms: Vec<f64>,
}

/// A floor or a ceiling drawn across a chart as a line.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    /// The legend's name of the line.
    pub label: String,
    /// Where the line is, in the axis' unit.
    pub value: f64,
}

/// The share of orders at or under each latency, one line per profile.
#[derive(Debug, Clone, Default)]
pub struct LatencyCdf {
    /// The chart's caption.
    pub title: String,
    /// A line each.
    pub series: Vec<LatencySeries>,
    /// A vertical line, in ms (the delivery time under the deliveries).
    pub floor: Option<Reference>,
}

/// One batching profile's cost per million orders, in US$, by service
/// (stacked in the order of first appearance across the bars).
#[derive(Debug, Clone, Default)]
pub struct CostBar {
    /// The profile, under its bar.
    pub profile: String,
    /// Each service and its US$ per million orders.
    pub services: Vec<(String, f64)>,
}

/// The cost per million orders, a stacked bar per batching profile.
#[derive(Debug, Clone, Default)]
pub struct CostChart {
    /// The chart's caption.
    pub title: String,
    /// A bar each.
    pub bars: Vec<CostBar>,
}

/// A function's cold start: its init and its first call, in ms.
#[derive(Debug, Clone, Default)]
pub struct ColdStartBar {
    /// The function's name.
    pub function: String,
    /// Its init, in ms.
    pub init_ms: f64,
    /// Its first call, in ms.
    pub first_ms: f64,
}

/// Every function's cold start as a bar of init then first call, the
/// floor's on top and as a line across the others.
#[derive(Debug, Clone, Default)]
pub struct ColdStartChart {
    /// The chart's caption.
    pub title: String,
    /// The hello-world floor's cold start.
    pub floor: ColdStartBar,
    /// Each function's cold start.
    pub functions: Vec<ColdStartBar>,
}

/// One step of the throughput search: the rate offered, the rate placed,
/// and whether the pipeline kept up.
#[derive(Debug, Clone, Copy, Default)]
pub struct ThroughputStep {
    /// Orders per second offered.
    pub offered_per_s: f64,
    /// Orders per second placed.
    pub placed_per_s: f64,
    /// Whether the pipeline kept up at that rate.
    pub kept_up: bool,
}

/// The placed rate against the offered one per step, with the ceiling the
/// search started from (orders/s).
#[derive(Debug, Clone, Default)]
pub struct ThroughputChart {
    /// The chart's caption.
    pub title: String,
    /// The ceiling, a vertical line at its rate (orders/s).
    pub ceiling: Option<Reference>,
    /// A point each.
    pub steps: Vec<ThroughputStep>,
}

/// Every chart of a bench run.
#[derive(Debug, Clone, Default)]
pub struct BenchCharts {
    /// Placement to the PAID notification (`latency-cdf-paid.svg`).
    pub paid: LatencyCdf,
    /// Delivery request to delivered (`latency-cdf-delivered.svg`).
    pub delivered: LatencyCdf,
    /// Cost per million orders (`cost-per-million.svg`).
    pub cost: CostChart,
    /// The cold starts (`cold-starts.svg`).
    pub cold_starts: ColdStartChart,
    /// The throughput search (`throughput-search.svg`).
    pub throughput: ThroughputChart,
}

/// What [`write_all`] wrote: the charts, then the run's description.
#[derive(Debug, Clone)]
pub struct Written {
    /// The SVG files, in the order of [`BenchCharts`]' fields.
    pub charts: Vec<PathBuf>,
    /// `run.txt`.
    pub run: PathBuf,
}

/// Writes every chart into `dir` (created if missing) as
/// `latency-cdf-paid.svg`, `latency-cdf-delivered.svg`,
/// `cost-per-million.svg`, `cold-starts.svg` and `throughput-search.svg`,
/// and `run` (the run's date and settings) as `run.txt`.
pub fn write_all(dir: &Path, charts: &BenchCharts, run: &str) -> Result<Written, PlotError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| PlotError::Write { path: dir.display().to_string(), source })?;
    let paid = dir.join("latency-cdf-paid.svg");
    latency_cdf(&paid, &charts.paid)?;
    let delivered = dir.join("latency-cdf-delivered.svg");
    latency_cdf(&delivered, &charts.delivered)?;
    let cost = dir.join("cost-per-million.svg");
    cost_per_million(&cost, &charts.cost)?;
    let cold = dir.join("cold-starts.svg");
    cold_starts(&cold, &charts.cold_starts)?;
    let throughput = dir.join("throughput-search.svg");
    throughput_search(&throughput, &charts.throughput)?;
    let run_path = dir.join("run.txt");
    std::fs::write(&run_path, run)
        .map_err(|source| PlotError::Write { path: run_path.display().to_string(), source })?;
    Ok(Written { charts: vec![paid, delivered, cost, cold, throughput], run: run_path })
}

/// The latency CDF: a step line per series, the p50 and p99 levels, the
/// floor if any; each series' p50 and p99 in its legend.
pub fn latency_cdf(path: &Path, chart: &LatencyCdf) -> Result<(), PlotError> {
    render(path, 600, |root| draw_latency_cdf(root, chart))
}

/// The cost per million orders: a bar per profile, stacked by service,
/// its total above it.
pub fn cost_per_million(path: &Path, chart: &CostChart) -> Result<(), PlotError> {
    render(path, 600, |root| draw_cost(root, chart))
}

/// The cold starts: a horizontal bar per function (init, then the first
/// call), the floor's on top and as a line across; each bar's total and its
/// ratio to the floor beside it.
pub fn cold_starts(path: &Path, chart: &ColdStartChart) -> Result<(), PlotError> {
    let rows = u32::try_from(chart.functions.len()).unwrap_or(u32::MAX).saturating_add(1);
    let height = rows.saturating_mul(30).saturating_add(170).min(2400);
    render(path, height, |root| draw_cold_starts(root, chart))
}

/// The throughput search: the placed rate against the offered one per step
/// (a circle where the pipeline kept up, a cross where it fell behind), the
/// diagonal where placed equals offered, and the ceiling.
pub fn throughput_search(path: &Path, chart: &ThroughputChart) -> Result<(), PlotError> {
    render(path, 600, |root| draw_throughput(root, chart))
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

const FONT: &str = "sans-serif";
const WIDTH: u32 = 960;
/// Tableau 10's first eight.
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const FLOOR: RGBColor = RGBColor(110, 110, 110);
const FLOOR_LIGHT: RGBColor = RGBColor(180, 180, 180);
const LIMIT: RGBColor = RGBColor(214, 39, 40);

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Draws into an SVG in memory, then writes it: a failed chart leaves no
/// half-written file.
fn render(path: &Path, height: u32, draw: impl FnOnce(&Area<'_>) -> DrawResult) -> Result<(), PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present())
            .map_err(|e| PlotError::Draw { path: path.display().to_string(), message: e.to_string() })?;
    }
    std::fs::write(path, svg).map_err(|source| PlotError::Write { path: path.display().to_string(), source })
}

/// The chart's title and "no data" in the middle.
fn no_data(root: &Area<'_>, title: &str) -> DrawResult {
    let area = root.titled(title, (FONT, 20).into_font())?;
    let (width, height) = area.dim_in_pixel();
    let style = TextStyle::from((FONT, 28).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text("no data", &style, (width as i32 / 2, height as i32 / 2))
}

fn line_legend(color: RGBColor) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
}

fn box_legend(color: RGBColor) -> impl Fn((i32, i32)) -> Rectangle<(i32, i32)> {
    move |(x, y)| Rectangle::new([(x + 2, y - 6), (x + 16, y + 6)], color.filled())
}

/// The label of a category axis: the name at that index.
fn category(names: &[String], value: &SegmentValue<usize>) -> String {
    match value {
        SegmentValue::Exact(i) | SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
        SegmentValue::Last => String::new(),
    }
}

fn finite_sorted(values: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted
}

/// A value to draw: finite and not negative, else zero.
fn amount(value: f64) -> f64 {
    if value.is_finite() { value.max(0.0) } else { 0.0 }
}

fn draw_latency_cdf(root: &Area<'_>, cdf: &LatencyCdf) -> DrawResult {
    let series: Vec<(&str, Vec<f64>)> =
        cdf.series.iter().map(|s| (s.label.as_str(), finite_sorted(&s.samples_ms))).collect();
    let floor = cdf.floor.as_ref().filter(|floor| floor.value.is_finite());
    let lowest = series.iter().filter_map(|(_, samples)| samples.first().copied()).fold(0.0_f64, f64::min);
    let highest = series
        .iter()
        .filter_map(|(_, samples)| samples.last().copied())
        .chain(floor.map(|floor| floor.value))
        .fold(0.0_f64, f64::max);
    let x_max = (highest * 1.05).max(lowest + 1.0);
    if series.iter().all(|(_, samples)| samples.is_empty()) || !(x_max - lowest).is_finite() {
        return no_data(root, &cdf.title);
    }
    let mut chart = ChartBuilder::on(root)
        .caption(&cdf.title, (FONT, 18).into_font())
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(lowest..x_max, 0.0..1.0)?;
    let whole_ms = |ms: &f64| format!("{ms:.0}");
    let percent = |share: &f64| format!("{:.0}%", share * 100.0);
    chart
        .configure_mesh()
        .x_desc("milliseconds")
        .y_desc("share of orders at or under")
        .x_label_formatter(&whole_ms)
        .y_label_formatter(&percent)
        .draw()?;
    for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
        chart
            .draw_series(std::iter::once(PathElement::new(vec![(lowest, q), (x_max, q)], FLOOR.mix(0.5))))?;
        chart.plotting_area().draw(&Text::new(name, (lowest, q), (FONT, 12).into_font()))?;
    }
    for (i, (label, samples)) in series.iter().enumerate() {
        let line = color(i);
        if samples.is_empty() {
            // The profile keeps its place in the legend.
            chart
                .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
                .label(format!("{label}: no data"))
                .legend(line_legend(line));
            continue;
        }
        // A step up of 1/n at each sample.
        let count = samples.len() as f64;
        let mut steps = Vec::with_capacity(2 * samples.len());
        let mut below = 0.0;
        for (k, &ms) in samples.iter().enumerate() {
            steps.push((ms, below));
            below = (k + 1) as f64 / count;
            steps.push((ms, below));
        }
        chart
            .draw_series(LineSeries::new(steps, line.stroke_width(2)))?
            .label(format!(
                "{label}: p50 {:.0} ms, p99 {:.0} ms ({} orders)",
                crate::bench::percentile(samples, 0.5),
                crate::bench::percentile(samples, 0.99),
                samples.len()
            ))
            .legend(line_legend(line));
    }
    if let Some(floor) = floor {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(floor.value, 0.0), (floor.value, 1.0)],
                LIMIT.stroke_width(2),
            )))?
            .label(format!("{}: {:.0} ms", floor.label, floor.value))
            .legend(line_legend(LIMIT));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .label_font((FONT, 13).into_font())
        .draw()
}

fn draw_cost(root: &Area<'_>, cost: &CostChart) -> DrawResult {
    if cost.bars.is_empty() {
        return no_data(root, &cost.title);
    }
    let mut services: Vec<&str> = Vec::new();
    for (service, _) in cost.bars.iter().flat_map(|bar| &bar.services) {
        if !services.contains(&service.as_str()) {
            services.push(service.as_str());
        }
    }
    let dollars = |bar: &CostBar, service: &str| -> f64 {
        bar.services.iter().filter(|(name, _)| name == service).map(|&(_, value)| amount(value)).sum()
    };
    let totals: Vec<f64> = cost
        .bars
        .iter()
        .map(|bar| services.iter().map(|&service| dollars(bar, service)).sum::<f64>())
        .collect();
    let top = totals.iter().copied().fold(0.0_f64, f64::max);
    let y_max = if top > 0.0 { top * 1.35 } else { 1.0 };
    // A category axis of at least two slots (plotters maps a one-value
    // range to no width).
    let last = cost.bars.len().saturating_sub(1).max(1);
    let mut chart = ChartBuilder::on(root)
        .caption(&cost.title, (FONT, 18).into_font())
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(72)
        .build_cartesian_2d((0..last).into_segmented(), 0.0..y_max)?;
    let names: Vec<String> = cost.bars.iter().map(|bar| bar.profile.clone()).collect();
    let profile = |value: &SegmentValue<usize>| category(&names, value);
    let in_dollars = |value: &f64| format!("${value:.2}");
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(last + 1)
        .x_label_formatter(&profile)
        .y_desc("US$ per million orders")
        .y_label_formatter(&in_dollars)
        .draw()?;
    let slot = chart.plotting_area().dim_in_pixel().0 / (last as u32 + 1);
    let pad = slot / 5;
    let mut bottoms = vec![0.0_f64; cost.bars.len()];
    for (k, &service) in services.iter().enumerate() {
        let fill = color(k);
        let mut rects = Vec::with_capacity(cost.bars.len());
        for (i, (bar, bottom)) in cost.bars.iter().zip(bottoms.iter_mut()).enumerate() {
            let value = dollars(bar, service);
            let mut rect = Rectangle::new(
                [(SegmentValue::Exact(i), *bottom), (SegmentValue::Exact(i + 1), *bottom + value)],
                fill.filled(),
            );
            rect.set_margin(0, 0, pad, pad);
            rects.push(rect);
            *bottom += value;
        }
        chart.draw_series(rects)?.label(service).legend(box_legend(fill));
    }
    let above = TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Center, VPos::Bottom));
    for (i, total) in totals.iter().enumerate() {
        chart.plotting_area().draw(&Text::new(
            format!("${total:.2}"),
            (SegmentValue::CenterOf(i), *total),
            above.clone(),
        ))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .label_font((FONT, 13).into_font())
        .draw()
}

fn draw_cold_starts(root: &Area<'_>, cold: &ColdStartChart) -> DrawResult {
    if cold.functions.is_empty() {
        return no_data(root, &cold.title);
    }
    // Bottom to top: the functions from the last, then the floor on top.
    let rows: Vec<&ColdStartBar> = cold.functions.iter().rev().chain(std::iter::once(&cold.floor)).collect();
    let floor_row = cold.functions.len();
    let total = |row: &ColdStartBar| amount(row.init_ms) + amount(row.first_ms);
    let floor_total = total(&cold.floor);
    let top = rows.iter().map(|&row| total(row)).fold(0.0_f64, f64::max);
    let x_max = if top > 0.0 { top * 1.3 } else { 1.0 };
    let names: Vec<String> = rows.iter().map(|row| row.function.clone()).collect();
    let longest = u32::try_from(names.iter().map(String::len).max().unwrap_or(0)).unwrap_or(u32::MAX);
    let mut chart = ChartBuilder::on(root)
        .caption(&cold.title, (FONT, 18).into_font())
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(longest.saturating_mul(7).saturating_add(24).clamp(80, 360))
        .build_cartesian_2d(0.0..x_max, (0..floor_row).into_segmented())?;
    let function = |value: &SegmentValue<usize>| category(&names, value);
    let whole_ms = |ms: &f64| format!("{ms:.0}");
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(floor_row + 1)
        .y_label_formatter(&function)
        .x_label_formatter(&whole_ms)
        .x_desc("milliseconds")
        .draw()?;
    let slot = chart.plotting_area().dim_in_pixel().1 / (floor_row as u32 + 1);
    let pad = slot / 6;
    let bar = |row: usize, from: f64, to: f64, fill: RGBColor| {
        let mut rect = Rectangle::new(
            [(from, SegmentValue::Exact(row)), (to, SegmentValue::Exact(row + 1))],
            fill.filled(),
        );
        rect.set_margin(pad, pad, 0, 0);
        rect
    };
    let (init, first) = (color(0), color(1));
    let functions = || rows.iter().take(floor_row).enumerate();
    chart
        .draw_series(functions().map(|(i, &row)| bar(i, 0.0, amount(row.init_ms), init)))?
        .label("init")
        .legend(box_legend(init));
    chart
        .draw_series(functions().map(|(i, &row)| bar(i, amount(row.init_ms), total(row), first)))?
        .label("first call")
        .legend(box_legend(first));
    let floor_init = amount(cold.floor.init_ms);
    chart.draw_series([
        bar(floor_row, 0.0, floor_init, FLOOR),
        bar(floor_row, floor_init, floor_total, FLOOR_LIGHT),
    ])?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(floor_total, SegmentValue::Exact(0)), (floor_total, SegmentValue::Last)],
            LIMIT.stroke_width(2),
        )))?
        .label(format!("floor, {}: init + first call = {floor_total:.1} ms", cold.floor.function))
        .legend(line_legend(LIMIT));
    let beside = TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, &row) in rows.iter().enumerate() {
        let ms = total(row);
        let ratio = if i != floor_row && floor_total > 0.0 {
            format!(", x{:.1} the floor", ms / floor_total)
        } else {
            String::new()
        };
        chart.plotting_area().draw(&Text::new(
            format!("  {ms:.1} ms{ratio}"),
            (ms, SegmentValue::CenterOf(i)),
            beside.clone(),
        ))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .label_font((FONT, 13).into_font())
        .draw()
}

fn draw_throughput(root: &Area<'_>, search: &ThroughputChart) -> DrawResult {
    let mut steps: Vec<ThroughputStep> = search
        .steps
        .iter()
        .copied()
        .filter(|step| step.offered_per_s.is_finite() && step.placed_per_s.is_finite())
        .collect();
    steps.sort_by(|a, b| a.offered_per_s.total_cmp(&b.offered_per_s));
    let ceiling = search.ceiling.as_ref().filter(|ceiling| ceiling.value.is_finite() && ceiling.value > 0.0);
    let top = steps
        .iter()
        .flat_map(|step| [step.offered_per_s, step.placed_per_s])
        .chain(ceiling.map(|ceiling| ceiling.value))
        .fold(0.0_f64, f64::max);
    let axis_max = if top > 0.0 { top * 1.1 } else { 1.0 };
    if steps.is_empty() || !axis_max.is_finite() {
        return no_data(root, &search.title);
    }
    let mut chart = ChartBuilder::on(root)
        .caption(&search.title, (FONT, 18).into_font())
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..axis_max, 0.0..axis_max)?;
    let per_second = |rate: &f64| format!("{rate:.1}");
    chart
        .configure_mesh()
        .x_desc("offered orders/s")
        .y_desc("placed orders/s")
        .x_label_formatter(&per_second)
        .y_label_formatter(&per_second)
        .draw()?;
    chart
        .draw_series(LineSeries::new([(0.0, 0.0), (axis_max, axis_max)], FLOOR.mix(0.6)))?
        .label("placed = offered")
        .legend(line_legend(FLOOR));
    let placed = color(0);
    chart
        .draw_series(LineSeries::new(
            steps.iter().map(|step| (step.offered_per_s, step.placed_per_s)),
            placed.stroke_width(2),
        ))?
        .label("placed orders/s per step")
        .legend(line_legend(placed));
    let point = |step: &ThroughputStep| (step.offered_per_s, step.placed_per_s);
    let kept: Vec<(f64, f64)> = steps.iter().filter(|step| step.kept_up).map(point).collect();
    let behind: Vec<(f64, f64)> = steps.iter().filter(|step| !step.kept_up).map(point).collect();
    if !kept.is_empty() {
        let ok = color(2);
        chart
            .draw_series(kept.iter().map(|&at| Circle::new(at, 6, ok.filled())))?
            .label("kept up (placed 90% of offered or more, drained within 5 s)")
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, ok.filled()));
    }
    if !behind.is_empty() {
        chart
            .draw_series(behind.iter().map(|&at| Cross::new(at, 7, LIMIT.stroke_width(2))))?
            .label("fell behind")
            .legend(|(x, y)| Cross::new((x + 10, y), 6, LIMIT.stroke_width(2)));
    }
    if let Some(ceiling) = ceiling {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(ceiling.value, 0.0), (ceiling.value, axis_max)],
                LIMIT.stroke_width(2),
            )))?
            .label(format!("{}: {:.1} orders/s", ceiling.label, ceiling.value))
            .legend(line_legend(LIMIT));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.5))
        .label_font((FONT, 13).into_font())
        .draw()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// A fresh directory of its own under the system's temp dir.
    fn scratch(test: &str) -> PathBuf {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let dir =
            std::env::temp_dir().join(format!("foodstream-plots-{test}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The file, checked to be a whole SVG document.
    fn read_svg(path: &Path) -> String {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(text.starts_with("<svg"), "{} starts with {:?}", path.display(), text.get(..60));
        assert!(text.trim_end().ends_with("</svg>"), "{} is not closed", path.display());
        text
    }

    fn assert_contains(svg: &str, texts: &[&str]) {
        for text in texts {
            assert!(svg.contains(text), "the chart lacks {text:?}:\n{svg}");
        }
    }

    /// The text element of the whole-chart "no data" (a legend entry ending
    /// in "no data" is a different line).
    const NO_DATA: &str = ">\nno data\n</text>";

    #[test]
    fn a_latency_cdf_has_a_line_per_profile_with_its_quantiles_and_the_floor() {
        let path = scratch("cdf").join("latency.svg");
        let chart = LatencyCdf {
            title: "Delivery request to DELIVERED".into(),
            series: vec![
                LatencySeries {
                    label: "low-latency".into(),
                    samples_ms: vec![1200.0, 1100.0, 1500.0, 1300.0],
                },
                LatencySeries {
                    label: "economical".into(),
                    samples_ms: vec![2100.0, f64::NAN, 1900.0, f64::INFINITY, 2500.0],
                },
                LatencySeries { label: "one-partition".into(), samples_ms: vec![] },
            ],
            floor: Some(Reference { label: "floor: the delivery time".into(), value: 1000.0 }),
        };
        latency_cdf(&path, &chart).unwrap();
        let svg = read_svg(&path);
        assert_contains(
            &svg,
            &[
                "Delivery request to DELIVERED",
                "low-latency: p50 1300 ms, p99 1500 ms (4 orders)",
                // The non-finite samples are left out.
                "economical: p50 2100 ms, p99 2500 ms (3 orders)",
                "one-partition: no data",
                "floor: the delivery time: 1000 ms",
                "p99",
            ],
        );
        assert!(!svg.contains(NO_DATA), "the chart has data");
        // Two profiles' lines, the floor and the p50 and p99 levels.
        assert!(svg.matches("<polyline").count() >= 5, "{svg}");
    }

    #[test]
    fn the_cost_chart_stacks_each_service_per_profile_under_its_total() {
        let path = scratch("cost").join("cost.svg");
        let chart = CostChart {
            title: "Cost per million orders".into(),
            bars: vec![
                CostBar {
                    profile: "low-latency".into(),
                    services: vec![("Lambda".into(), 4.13), ("API Gateway".into(), 3.0), ("SQS".into(), 0.9)],
                },
                CostBar {
                    profile: "economical".into(),
                    services: vec![("Lambda".into(), 2.2), ("API Gateway".into(), 3.0), ("SQS".into(), 0.51)],
                },
            ],
        };
        cost_per_million(&path, &chart).unwrap();
        let svg = read_svg(&path);
        assert_contains(
            &svg,
            &[
                "Cost per million orders",
                "low-latency",
                "economical",
                "Lambda",
                "API Gateway",
                "SQS",
                "$8.03",
                "$5.71",
            ],
        );
        // The background, 3 services x 2 profiles, 3 legend boxes and the
        // legend's frame.
        assert!(svg.matches("<rect").count() > 1 + 6 + 3, "{svg}");
    }

    #[test]
    fn the_cold_starts_stand_next_to_the_floor() {
        let path = scratch("cold").join("cold.svg");
        let chart = ColdStartChart {
            title: "Cold start: init and first call".into(),
            floor: ColdStartBar { function: "hello-lambda (floor)".into(), init_ms: 2.0, first_ms: 1.0 },
            functions: vec![
                ColdStartBar { function: "place-order".into(), init_ms: 12.0, first_ms: 9.5 },
                ColdStartBar { function: "notifier".into(), init_ms: 8.0, first_ms: 3.0 },
            ],
        };
        cold_starts(&path, &chart).unwrap();
        let svg = read_svg(&path);
        assert_contains(
            &svg,
            &[
                "Cold start: init and first call",
                "place-order",
                "notifier",
                "hello-lambda (floor)",
                ">\ninit\n",
                ">\nfirst call\n",
                "init + first call = 3.0 ms",
                "21.5 ms, x7.2 the floor",
                "11.0 ms, x3.7 the floor",
            ],
        );
        // 2 functions x (init, first call), the floor's two and the legend's.
        assert!(svg.matches("<rect").count() > 1 + 4 + 2 + 2, "{svg}");
    }

    #[test]
    fn the_throughput_search_marks_the_steps_that_kept_up() {
        let path = scratch("throughput").join("throughput.svg");
        let chart = ThroughputChart {
            title: "Throughput search".into(),
            ceiling: Some(Reference { label: "ceiling".into(), value: 10.0 }),
            steps: vec![
                ThroughputStep { offered_per_s: 5.0, placed_per_s: 4.9, kept_up: true },
                ThroughputStep { offered_per_s: 2.5, placed_per_s: 2.5, kept_up: true },
                ThroughputStep { offered_per_s: 7.5, placed_per_s: 6.0, kept_up: false },
            ],
        };
        throughput_search(&path, &chart).unwrap();
        let svg = read_svg(&path);
        assert_contains(
            &svg,
            &[
                "Throughput search",
                "placed = offered",
                "placed orders/s per step",
                "kept up",
                "fell behind",
                "ceiling: 10.0 orders/s",
            ],
        );
        // Two steps kept up, and the legend's circle.
        assert!(svg.matches("<circle").count() >= 3, "{svg}");
    }

    #[test]
    fn a_single_bar_and_all_zero_figures_still_draw() {
        let dir = scratch("single");
        let cost = CostChart {
            title: "one profile".into(),
            bars: vec![CostBar { profile: "economical".into(), services: vec![("Lambda".into(), 0.0)] }],
        };
        cost_per_million(&dir.join("cost.svg"), &cost).unwrap();
        assert_contains(&read_svg(&dir.join("cost.svg")), &["economical", "Lambda", "$0.00"]);
        let cold = ColdStartChart {
            title: "one function".into(),
            floor: ColdStartBar { function: "floor".into(), ..ColdStartBar::default() },
            functions: vec![ColdStartBar { function: "notifier".into(), init_ms: f64::NAN, first_ms: 0.0 }],
        };
        cold_starts(&dir.join("cold.svg"), &cold).unwrap();
        assert_contains(&read_svg(&dir.join("cold.svg")), &["notifier", "floor"]);
        let cdf = LatencyCdf {
            title: "zeros".into(),
            series: vec![LatencySeries { label: "low-latency".into(), samples_ms: vec![0.0, 0.0] }],
            floor: None,
        };
        latency_cdf(&dir.join("cdf.svg"), &cdf).unwrap();
        assert_contains(&read_svg(&dir.join("cdf.svg")), &["low-latency: p50 0 ms"]);
    }

    #[test]
    fn empty_data_draws_charts_that_say_no_data() {
        let dir = scratch("empty").join("bench");
        let charts = BenchCharts {
            paid: LatencyCdf { title: "Placement to PAID".into(), ..LatencyCdf::default() },
            delivered: LatencyCdf {
                title: "Delivery request to DELIVERED".into(),
                series: vec![LatencySeries { label: "low-latency".into(), samples_ms: vec![f64::NAN] }],
                floor: None,
            },
            cost: CostChart { title: "Cost".into(), bars: vec![] },
            cold_starts: ColdStartChart { title: "Cold starts".into(), ..ColdStartChart::default() },
            throughput: ThroughputChart {
                title: "Throughput".into(),
                ceiling: Some(Reference { label: "ceiling".into(), value: 12.0 }),
                steps: vec![],
            },
        };
        let written = write_all(&dir, &charts, "run: test\n").unwrap();
        let names: Vec<&str> = written
            .charts
            .iter()
            .filter_map(|path| path.file_name().and_then(|name| name.to_str()))
            .collect();
        assert_eq!(
            names,
            [
                "latency-cdf-paid.svg",
                "latency-cdf-delivered.svg",
                "cost-per-million.svg",
                "cold-starts.svg",
                "throughput-search.svg"
            ]
        );
        for (path, title) in
            written.charts.iter().zip(["Placement to PAID", "Delivery", "Cost", "Cold starts", "Throughput"])
        {
            let svg = read_svg(path);
            assert_contains(&svg, &[NO_DATA, title]);
        }
        assert_eq!(std::fs::read_to_string(&written.run).unwrap(), "run: test\n");
        assert_eq!(written.run, dir.join("run.txt"));
    }

    #[test]
    fn an_unwritable_directory_is_an_error_naming_it() {
        let file = scratch("unwritable").join("a-file");
        std::fs::write(&file, "not a directory").unwrap();
        let error = write_all(&file, &BenchCharts::default(), "run").unwrap_err();
        assert!(matches!(error, PlotError::Write { .. }), "{error:?}");
        assert!(error.to_string().contains(&file.display().to_string()), "{error}");
    }
}
