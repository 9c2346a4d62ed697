//! The report's page: one self-contained HTML file (inline CSS, images beside it, nothing
//! fetched). Every number on it is written from [`Figures`] and tagged with `data-key`, the
//! JSON pointer of the same number in `tact eval --json`'s `report`, so the page and the JSON
//! can be checked against each other.

use super::bootstrap::{Estimate, Figure, Metric};
use super::{
    automation_file, confusion_file, reliability_file, Confusion, Figures, Summary, Views,
};
use std::collections::BTreeMap;
use std::fmt::Write;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px auto;max-width:1200px;color:#222}\
h1{font-size:1.5em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:4px 8px;vertical-align:top}\
th{background:#f3f3f3;text-align:left}td.n{text-align:right}.ci{color:#666;font-size:.85em;white-space:nowrap}\
.cmp{font-size:.85em;color:#444;margin-top:2px}.outside{color:#b30000;font-weight:bold}\
.imgs{display:flex;flex-wrap:wrap;gap:8px}.imgs img{border:1px solid #eee;max-width:100%}\
.note{color:#555;font-size:.9em}ul.ex{margin:0;padding-left:18px;font-size:.9em}";

/// `&`, `<`, `>`, `"` and `'` escaped, for text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The JSON pointer (RFC 6901) of a value inside `report`.
fn pointer(path: &[&str]) -> String {
    path.iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// A figure to three decimals, tagged with its JSON pointer.
fn number(path: &[&str], value: f64) -> String {
    format!(
        r#"<span data-key="{}">{value:.3}</span>"#,
        escape(&pointer(path))
    )
}

fn count(path: &[&str], value: usize) -> String {
    format!(
        r#"<span data-key="{}">{value}</span>"#,
        escape(&pointer(path))
    )
}

fn estimate(path: &[&str], e: &Estimate) -> String {
    let at = |last: &'static str| [path, &[last][..]].concat();
    format!(
        r#"{} <span class="ci">[{}, {}]</span>"#,
        number(&at("value"), e.value),
        number(&at("low"), e.low),
        number(&at("high"), e.high)
    )
}

fn figure_cell(path: &[&str], f: &Figure) -> String {
    let mut cell = estimate(path, &f.estimate);
    if let Some(c) = &f.comparison {
        let at = |part: &'static str| [path, &["comparison", part][..]].concat();
        let outside = if c.excludes_zero {
            r#" <span class="outside">outside</span>"#
        } else {
            ""
        };
        let _ = write!(
            cell,
            r#"<div class="cmp">baseline {}<br>Δ {}{outside}</div>"#,
            estimate(&at("baseline"), &c.baseline),
            estimate(&at("difference"), &c.difference)
        );
    }
    cell
}

fn summary_table(out: &mut String, root: &str, groups: &BTreeMap<String, Summary>) {
    out.push_str("<table><tr><th></th><th>records</th>");
    for m in Metric::ALL {
        let _ = write!(out, "<th>{}</th>", m.title());
    }
    out.push_str("</tr>");
    for (group, s) in groups {
        let _ = write!(
            out,
            r#"<tr><th>{}</th><td class="n">{}</td>"#,
            escape(group),
            count(&[root, group, "records"], s.records)
        );
        for m in Metric::ALL {
            let cell = match s.metrics.get(m.key()) {
                Some(f) => figure_cell(&[root, group, "metrics", m.key()], f),
                None => "—".to_string(),
            };
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

fn automation_table(out: &mut String, figures: &Figures) {
    out.push_str(
        "<table><tr><th>group</th><th>model</th><th>decisions</th><th>automated at the policy</th>\
         <th>its accuracy</th><th>accuracy of those reviewed</th><th>coverage at 95% accuracy</th>\
         <th>coverage at 97% accuracy</th></tr>",
    );
    let models = [
        ("model", Some(&figures.model)),
        ("baseline", figures.baseline.as_ref()),
    ];
    for group in figures.model.automation.keys() {
        for (whose, views) in models {
            let Some(curve) = views.and_then(|v| v.automation.get(group)) else {
                continue;
            };
            let p = &curve.policy;
            let at = |field: &'static str| [whose, "automation", group, "policy", field];
            let _ = write!(
                out,
                r#"<tr><th>{}</th><td>{whose}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                escape(group),
                count(&at("n"), p.n),
                number(&at("automated"), p.automated),
                number(&at("automated_accuracy"), p.automated_accuracy),
                number(&at("reviewed_accuracy"), p.reviewed_accuracy),
                number(&at("coverage_at_95"), p.coverage_at_95),
                number(&at("coverage_at_97"), p.coverage_at_97),
            );
        }
    }
    out.push_str("</table>");
}

fn images(out: &mut String, files: impl Iterator<Item = String>) {
    out.push_str(r#"<div class="imgs">"#);
    for file in files {
        let file = escape(&file);
        let _ = write!(
            out,
            r#"<a href="{file}"><img src="{file}" alt="{file}"></a>"#
        );
    }
    out.push_str("</div>");
}

fn confusions(out: &mut String, worst: &[Confusion], texts: bool) {
    out.push_str("<table><tr><th>task</th><th>gold</th><th>taken for</th><th>records</th><th>examples</th></tr>");
    for (i, c) in worst.iter().enumerate() {
        let examples = if texts {
            let items: String = c
                .examples
                .iter()
                .map(|t| format!("<li>{}</li>", escape(t)))
                .collect();
            format!(r#"<ul class="ex">{items}</ul>"#)
        } else {
            "texts left out (--no-texts)".to_string()
        };
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td class="n">{}</td><td>{examples}</td></tr>"#,
            c.task,
            c.gold,
            c.predicted,
            count(&["worst_confusions", &i.to_string(), "count"], c.count)
        );
    }
    out.push_str("</table>");
}

fn confusion_images(out: &mut String, views: &Views, baseline: bool, task: &str) {
    let matrices = if task == "intent" {
        &views.intent_confusion
    } else {
        &views.action_confusion
    };
    images(
        out,
        matrices.keys().map(|g| confusion_file(baseline, task, g)),
    );
}

/// The whole page.
pub fn page(figures: &Figures) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tact evaluation report</title><style>{STYLE}</style></head><body><h1>tact evaluation report</h1>"#
    );
    let records = figures.summary.get("all").map_or(0, |s| s.records);
    let _ = write!(
        out,
        r#"<p class="note">{} records. Each figure has its 95% interval in brackets: the 2.5th and 97.5th percentiles over {} bootstrap resamples of the records (seed {}).{}</p>"#,
        count(&["summary", "all", "records"], records),
        count(&["resamples"], figures.resamples),
        count(&["seed"], figures.seed as usize),
        if figures.baseline.is_some() {
            " With the baseline: Δ is model − baseline (higher is better, except ECE), over the same resampled records; <span class=\"outside\">outside</span> marks a Δ whose interval leaves out 0."
        } else {
            ""
        }
    );
    out.push_str("<h2>Summary per language</h2>");
    summary_table(&mut out, "summary", &figures.summary);
    out.push_str("<h2>Automation</h2><p class=\"note\">Share of comments decided without review against the accuracy of those decisions, as the confidence threshold moves; the dot is the policy's current setting.</p>");
    automation_table(&mut out, figures);
    images(
        &mut out,
        figures.model.automation.keys().map(|g| automation_file(g)),
    );
    out.push_str("<h2>Reliability</h2><p class=\"note\">Mean confidence against accuracy in ten confidence bins; the numbers along the bottom are the bins' counts.</p>");
    images(
        &mut out,
        ["intent", "sentiment", "decision"]
            .into_iter()
            .map(reliability_file),
    );
    for task in ["intent", "action"] {
        let _ = write!(out, "<h2>Confusion: {task}</h2><p class=\"note\">Rows gold, columns predicted; shade is the share of the gold row.</p>");
        confusion_images(&mut out, &figures.model, false, task);
        if let Some(b) = &figures.baseline {
            out.push_str("<p class=\"note\">Baseline:</p>");
            confusion_images(&mut out, b, true, task);
        }
    }
    out.push_str(
        "<h2>Per source</h2><p class=\"note\">Corpora mean different things by the same label.</p>",
    );
    summary_table(&mut out, "by_source", &figures.by_source);
    out.push_str("<h2>Worst confusions</h2>");
    confusions(&mut out, &figures.worst_confusions, figures.texts);
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::report::{made_up, ReportOptions};

    /// Every `data-key` of the page with the text it shows.
    fn tagged(page: &str) -> Vec<(String, String)> {
        page.split(r#"data-key=""#)
            .skip(1)
            .map(|rest| {
                let (key, rest) = rest.split_once('"').unwrap();
                let shown = rest[1..].split_once('<').unwrap().0;
                (key.to_string(), shown.to_string())
            })
            .collect()
    }

    #[test]
    fn every_number_shown_is_the_json_number_at_its_key() {
        let options = ReportOptions {
            seed: 5,
            resamples: 40,
            texts: true,
        };
        let f = made_up::figures(40, true, &options);
        let json = serde_json::to_value(&f).unwrap();
        let page = page(&f);
        let keys = tagged(&page);
        assert!(keys.len() > 100, "{}", keys.len());
        for (key, shown) in &keys {
            let value = json
                .pointer(key)
                .unwrap_or_else(|| panic!("{key} not in the JSON"));
            let expected = match value.as_u64() {
                Some(n) => n.to_string(),
                None => format!("{:.3}", value.as_f64().unwrap()),
            };
            assert_eq!(&expected, shown, "{key}");
        }
        assert!(keys
            .iter()
            .any(|(k, _)| k == "/summary/en/metrics/abusive_f1/comparison/difference/high"));
        assert!(keys
            .iter()
            .any(|(k, _)| k == "/baseline/automation/all/policy/coverage_at_97"));
        assert!(page.contains("secret text number"));
    }

    #[test]
    fn text_and_keys_are_escaped() {
        assert_eq!(
            escape(r#"<b a="1">'&'</b>"#),
            "&lt;b a=&quot;1&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;"
        );
        assert_eq!(
            pointer(&["by_source", "a/b~c", "records"]),
            "/by_source/a~1b~0c/records"
        );
    }
}
