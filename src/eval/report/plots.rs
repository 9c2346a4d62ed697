//! The report's images, drawn with plotters into SVG strings: confusion matrices as heatmaps
//! (cells shaded by the share of their gold row, counts written in), reliability diagrams
//! (mean confidence against accuracy per bin, with each bin's count) and automation curves
//! (coverage against accuracy of what is automated, the policy's setting marked, the coverage
//! at 95% and 97% accuracy written on it). A baseline is drawn in its own colour on the same
//! reliability and automation axes, and gets heatmaps of its own.

use super::{
    automation_file, confusion_file, reliability_file, Curve, Figures, Matrix, ReportError, Views,
};
use crate::eval::ReliabilityBin;
use plotters::coord::ranged1d::{IntoSegmentedCoord, SegmentValue};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const MODEL: RGBColor = RGBColor(31, 119, 180);
const BASELINE: RGBColor = RGBColor(230, 120, 20);
const FONT: &str = "sans-serif";

/// One curve or set of bins of a model, with its name and colour.
struct Series<'a, T> {
    name: &'static str,
    colour: RGBColor,
    data: &'a T,
}

/// Every image of the report as (file name, SVG).
pub fn all(figures: &Figures) -> Result<Vec<(String, String)>, ReportError> {
    let mut images = Vec::new();
    let models = [
        (false, Some(&figures.model)),
        (true, figures.baseline.as_ref()),
    ];
    for (is_baseline, views) in models {
        let Some(views) = views else { continue };
        let whose = if is_baseline { "baseline" } else { "model" };
        for (task, matrices) in [
            ("intent", &views.intent_confusion),
            ("action", &views.action_confusion),
        ] {
            for (group, m) in matrices {
                let title = format!("{task}: {group} ({whose})");
                images.push((
                    confusion_file(is_baseline, task, group),
                    heatmap(&title, m)?,
                ));
            }
        }
    }
    for (kind, title) in [
        ("intent", "top intent"),
        ("sentiment", "top sentiment"),
        ("decision", "decision confidence"),
    ] {
        let series: Vec<Series<Vec<ReliabilityBin>>> =
            of_both(figures, |v| v.reliability.get(kind));
        images.push((
            reliability_file(kind),
            reliability(&format!("reliability: {title}"), &series)?,
        ));
    }
    for group in figures.model.automation.keys() {
        let series: Vec<Series<Curve>> = of_both(figures, |v| v.automation.get(group));
        images.push((
            automation_file(group),
            automation(&format!("automation: {group}"), &series)?,
        ));
    }
    Ok(images)
}

/// The model's and (where given) the baseline's view picked by `pick`.
fn of_both<'a, T>(
    figures: &'a Figures,
    pick: impl Fn(&'a Views) -> Option<&'a T>,
) -> Vec<Series<'a, T>> {
    let mut series = Vec::new();
    if let Some(data) = pick(&figures.model) {
        series.push(Series {
            name: "model",
            colour: MODEL,
            data,
        });
    }
    if let Some(data) = figures.baseline.as_ref().and_then(&pick) {
        series.push(Series {
            name: "baseline",
            colour: BASELINE,
            data,
        });
    }
    series
}

/// An SVG of `size` pixels on white, drawn by `draw`.
fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), ReportError>,
) -> Result<String, ReportError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    Ok(svg)
}

/// White for an empty row share, deep blue for all of it.
fn shade(share: f64) -> RGBColor {
    let fade = |full: f64| (255.0 - share * (255.0 - full)).round() as u8;
    RGBColor(fade(40.0), fade(90.0), fade(170.0))
}

fn heatmap(title: &str, m: &Matrix) -> Result<String, ReportError> {
    let n = m.labels.len();
    svg((560, 520), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 16))
            .margin(10)
            .x_label_area_size(110)
            .y_label_area_size(110)
            // A discrete 0..k holds k + 1 values: 0..n - 1 gives the n segments.
            .build_cartesian_2d((0..n - 1).into_segmented(), (0..n - 1).into_segmented())?;
        // Gold rows top to bottom in label order: row `g` is drawn at height n - 1 - g.
        let gold_name = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < n => m.labels[n - 1 - i].to_string(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(n)
            .x_label_formatter(&|_| String::new())
            .y_labels(n)
            .y_label_formatter(&gold_name)
            .y_label_style((FONT, 11))
            .x_desc("predicted")
            .y_desc("gold")
            .draw()?;
        let mut cells = Vec::new();
        for (gold, row) in m.counts.iter().enumerate() {
            let total: usize = row.iter().sum();
            for (predicted, &count) in row.iter().enumerate() {
                let share = if total == 0 {
                    0.0
                } else {
                    count as f64 / total as f64
                };
                cells.push((n - 1 - gold, predicted, count, share));
            }
        }
        chart.draw_series(cells.iter().map(|&(y, x, _, share)| {
            let corner = |dx, dy| (SegmentValue::Exact(x + dx), SegmentValue::Exact(y + dy));
            Rectangle::new([corner(0, 0), corner(1, 1)], shade(share).filled())
        }))?;
        let centred = Pos::new(HPos::Center, VPos::Center);
        chart.draw_series(
            cells
                .iter()
                .filter(|c| c.2 > 0)
                .map(|&(y, x, count, share)| {
                    let colour = if share > 0.55 { WHITE } else { BLACK };
                    let style = (FONT, 12).into_font().color(&colour).pos(centred);
                    Text::new(
                        count.to_string(),
                        (SegmentValue::CenterOf(x), SegmentValue::CenterOf(y)),
                        style,
                    )
                }),
        )?;
        // Column names written downwards from under each column (plotters centres rotated
        // axis labels on their tick, which would cut them in half).
        let downwards = (FONT, 11)
            .into_font()
            .transform(FontTransform::Rotate90)
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        for (i, label) in m.labels.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(SegmentValue::CenterOf(i), SegmentValue::Exact(0)));
            root.draw(&Text::new(label.to_string(), (x, y + 9), downwards.clone()))?;
        }
        Ok(())
    })
}

fn reliability(title: &str, series: &[Series<Vec<ReliabilityBin>>]) -> Result<String, ReportError> {
    svg((520, 420), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..1f64, 0f64..1.05f64)?;
        chart
            .configure_mesh()
            // No fine grid: the SVG stays small and the curves readable.
            .light_line_style(TRANSPARENT)
            .x_desc("confidence (bin mean)")
            .y_desc("accuracy")
            .draw()?;
        let diagonal = DashedLineSeries::new([(0.0, 0.0), (1.0, 1.0)], 5, 4, BLACK.mix(0.4).into());
        chart.draw_series(diagonal)?;
        for (k, s) in series.iter().enumerate() {
            let filled = || s.data.iter().filter(|b| b.n > 0);
            let colour = s.colour;
            chart
                .draw_series(
                    LineSeries::new(
                        filled().map(|b| (b.confidence, b.accuracy)),
                        colour.stroke_width(2),
                    )
                    .point_size(3),
                )?
                .label(s.name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                });
            // Each bin's count, along the bottom, one row per model.
            let style = (FONT, 10)
                .into_font()
                .color(&colour)
                .pos(Pos::new(HPos::Center, VPos::Center));
            let height = 0.03 + 0.05 * k as f64;
            chart.draw_series(filled().map(|b| {
                let centre = (b.lower + b.upper) / 2.0;
                Text::new(b.n.to_string(), (centre, height), style.clone())
            }))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .draw()?;
        Ok(())
    })
}

/// The lowest accuracy shown: the curves' lowest point, rounded down to 0.05.
fn floor_of(series: &[Series<Curve>]) -> f64 {
    let lowest = series
        .iter()
        .flat_map(|s| s.data.points.iter().map(|p| p.accuracy))
        .fold(0.9f64, f64::min);
    ((lowest - 0.02) * 20.0).floor().max(0.0) / 20.0
}

fn automation(title: &str, series: &[Series<Curve>]) -> Result<String, ReportError> {
    svg((560, 440), |root| {
        let floor = floor_of(series);
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 16))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..1.02f64, floor..1.005f64)?;
        chart
            .configure_mesh()
            // No fine grid: the SVG stays small and the curves readable.
            .light_line_style(TRANSPARENT)
            .x_desc("share decided without review")
            .y_desc("accuracy of those decisions")
            .draw()?;
        for target in [0.95, 0.97] {
            let line = DashedLineSeries::new(
                [(0.0, target), (1.02, target)],
                5,
                4,
                BLACK.mix(0.35).into(),
            );
            chart.draw_series(line)?;
            let style = (FONT, 10)
                .into_font()
                .color(&BLACK.mix(0.6))
                .pos(Pos::new(HPos::Left, VPos::Bottom));
            chart.draw_series([Text::new(
                format!("{:.0}%", target * 100.0),
                (0.005, target),
                style,
            )])?;
        }
        for (k, s) in series.iter().enumerate() {
            let colour = s.colour;
            let points = s.data.points.iter().map(|p| (p.coverage, p.accuracy));
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
                .label(s.name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], colour.stroke_width(2))
                });
            let policy = &s.data.policy;
            let at = (policy.automated, policy.automated_accuracy);
            chart.draw_series([Circle::new(at, 6, colour.filled())])?;
            // The baseline's label under its dot, so equal settings stay readable.
            let below = if k == 0 { VPos::Bottom } else { VPos::Top };
            let label = (FONT, 11)
                .into_font()
                .color(&colour)
                .pos(Pos::new(HPos::Right, below));
            chart.draw_series([Text::new(format!("{} policy", s.name), at, label)])?;
            let note = format!(
                "{}: coverage {:.1}% at 95% accuracy, {:.1}% at 97%",
                s.name,
                policy.coverage_at_95 * 100.0,
                policy.coverage_at_97 * 100.0
            );
            let step = (1.0 - floor) / 14.0;
            let style = (FONT, 12).into_font().color(&colour);
            chart.draw_series([Text::new(
                note,
                (0.02, floor + step * (1.6 - k as f64)),
                style,
            )])?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .draw()?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::report::{made_up, ReportOptions};

    #[test]
    fn every_image_is_a_well_formed_svg_with_its_title_and_numbers() {
        let options = ReportOptions {
            seed: 1,
            resamples: 10,
            texts: true,
        };
        let f = made_up::figures(40, true, &options);
        let images = all(&f).unwrap();
        // Per model: intent and action for all, en, ro; shared: 3 reliability, 3 automation.
        assert_eq!(images.len(), 2 * 2 * 3 + 3 + 3);
        for (name, svg) in &images {
            let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(doc.root_element().tag_name().name(), "svg", "{name}");
            let texts: Vec<&str> = doc
                .descendants()
                .filter(|n| n.has_tag_name("text"))
                .filter_map(|n| n.text().map(str::trim))
                .collect();
            let drawn = doc
                .descendants()
                .filter(|n| n.has_tag_name("rect") || n.has_tag_name("polyline"))
                .count();
            assert!(drawn > 3, "{name} draws nothing");
            let label = if name.contains("intent-confusion") {
                "complaint"
            } else if name.contains("action-confusion") {
                "resolve"
            } else {
                "model"
            };
            assert!(texts.contains(&label), "{name}: {texts:?}");
        }
        let automation = &images
            .iter()
            .find(|(n, _)| n == "automation-all.svg")
            .unwrap()
            .1;
        let policy = &f.model.automation["all"].policy;
        let note = format!(
            "coverage {:.1}% at 95% accuracy",
            policy.coverage_at_95 * 100.0
        );
        assert!(automation.contains(&note), "{note}");
        let reliability = &images
            .iter()
            .find(|(n, _)| n == "reliability-intent.svg")
            .unwrap()
            .1;
        let doc = roxmltree::Document::parse(reliability).unwrap();
        let counted = doc
            .descendants()
            .any(|n| n.has_tag_name("text") && n.text().map(str::trim) == Some("40"));
        assert!(counted, "the bin holding all 40 intents is counted");
    }

    #[test]
    fn shades_run_from_white_to_blue() {
        assert_eq!(shade(0.0), RGBColor(255, 255, 255));
        assert_eq!(shade(1.0), RGBColor(40, 90, 170));
    }
}
