//! The geometry of the HTML report's inline SVG line charts: the scales, the polylines and the
//! threshold marks, computed here and drawn by `templates/chart.html`. The numbers are
//! formatted here too, so the template only places them.

use serde::Serialize;

const W: f64 = 640.0;
const H: f64 = 200.0;
const PAD: f64 = 40.0;

/// One line of a chart: name, colour, points (t, value).
pub type Series<'a> = (&'a str, &'a str, Vec<(f64, f64)>);

/// One chart, ready for the template: every coordinate already a string.
#[derive(Debug, Serialize)]
pub struct Chart {
    title: String,
    unit: String,
    w: String,
    h: String,
    pad: String,
    right: String,
    bottom: String,
    v_max: String,
    t_max: String,
    t_label_x: String,
    t_label_y: String,
    marks: Vec<Mark>,
    series: Vec<Line>,
}

/// A horizontal line at a threshold limit, with its label.
#[derive(Debug, Serialize)]
struct Mark {
    label: String,
    y: String,
    text_x: String,
    text_y: String,
}

#[derive(Debug, Serialize)]
struct Line {
    name: String,
    colour: String,
    points: String,
    label_x: String,
}

/// One line chart; `marks` are horizontal lines (threshold limits).
pub fn chart(title: &str, unit: &str, series: &[Series], marks: &[(String, f64)]) -> Chart {
    let t_max = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.0))
        .fold(1.0_f64, f64::max);
    let v_max = series
        .iter()
        .flat_map(|s| s.2.iter().map(|p| p.1))
        .chain(marks.iter().map(|m| m.1))
        .fold(0.0_f64, f64::max)
        .max(1e-9)
        * 1.1;
    let x = |t: f64| PAD + t / t_max * (W - 2.0 * PAD);
    let y = |v: f64| H - PAD + -(v / v_max) * (H - 2.0 * PAD);
    Chart {
        title: title.to_string(),
        unit: unit.to_string(),
        w: W.to_string(),
        h: H.to_string(),
        pad: PAD.to_string(),
        right: (W - PAD).to_string(),
        bottom: (H - PAD).to_string(),
        v_max: format!("{v_max:.1}"),
        t_max: format!("{t_max:.0}"),
        t_label_x: (W - PAD - 20.0).to_string(),
        t_label_y: (H - PAD + 14.0).to_string(),
        marks: marks
            .iter()
            .map(|(label, v)| Mark {
                label: label.clone(),
                y: format!("{:.1}", y(*v)),
                text_x: (PAD + 4.0).to_string(),
                text_y: format!("{:.1}", y(*v) - 3.0),
            })
            .collect(),
        series: series
            .iter()
            .enumerate()
            .map(|(i, (name, colour, pts))| Line {
                name: name.to_string(),
                colour: colour.to_string(),
                points: pts
                    .iter()
                    .map(|(t, v)| format!("{:.1},{:.1}", x(*t), y(*v)))
                    .collect::<Vec<_>>()
                    .join(" "),
                label_x: (PAD + 80.0 * i as f64).to_string(),
            })
            .collect(),
    }
}
