//! The HTML study report of `mid run`, opened in a real browser (Debian's headless
//! Chromium): the thiamazole example's page renders without a console message, fetches
//! nothing, has every part (attrition diagrams, age–sex pyramids, incidence with intervals,
//! Table 1, validation, coverage, script and cohort IR) in its DOM and in its pixels, and
//! shows no count of 1–9 in any number or picture.

use std::path::Path;

use crate::common::{browser_console, browser_dom, chromium};
use crate::outputs_doc::run_example;

/// A screenshot of the page as Chromium draws it, decoded: width, height and RGBA pixels.
fn screenshot(file: &Path, png: &Path) -> (u32, u32, Vec<u8>) {
    let o = chromium(
        &[
            "--hide-scrollbars",
            "--window-size=1200,2600",
            &format!("--screenshot={}", png.display()),
        ],
        file,
    );
    assert!(
        o.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png).expect("the screenshot"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()]
        .chunks(channels)
        .flat_map(|p| [p[0], p[1], p[2], if channels == 4 { p[3] } else { 255 }])
        .collect();
    (info.width, info.height, pixels)
}

/// Rows of the screenshot (from the top) where a colour of the page's style is drawn.
fn rows_with(shot: &(u32, u32, Vec<u8>), rgb: [u8; 3]) -> Vec<u32> {
    let (w, h, px) = shot;
    (0..*h)
        .filter(|y| {
            (0..*w).any(|x| {
                let i = ((y * w + x) * 4) as usize;
                px[i..i + 3] == rgb
            })
        })
        .collect()
}

/// The texts of the page's SVG `<text>` elements.
fn svg_texts(html: &str) -> Vec<String> {
    html.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].to_string())
        })
        .collect()
}

#[test]
fn the_thiamazole_study_report_renders_with_all_its_parts() {
    let out = run_example(&[]);
    let page = out.join("report.html");
    let html = std::fs::read_to_string(&page).expect("report.html is written by default");

    // Self-contained: no script, nothing fetched.
    assert!(!html.contains("<script"), "no script");
    for fetch in ["src=", "href=", "url(http", "@import"] {
        assert!(!html.contains(fetch), "fetches nothing ({fetch})");
    }

    // Chromium opens it without a console message, and builds every part.
    assert_eq!(browser_console(&page), Vec::<String>::new());
    let dom = browser_dom(&page);
    for part in [
        "id=\"attrition\"",
        "id=\"pyramid\"",
        "id=\"incidence\"",
        "id=\"table1\"",
        "id=\"outcomes\"",
        "id=\"coverage\"",
        "id=\"script\"",
    ] {
        assert!(dom.contains(part), "the page has {part}");
    }
    for cohort in ["thiamazole_users", "ptu_users"] {
        assert!(dom.contains(&format!("aria-label=\"attrition of {cohort}\"")));
        assert!(dom.contains(&format!("aria-label=\"age and sex of {cohort}\"")));
    }
    assert!(dom.contains("aria-label=\"incidence of granulocytopenia in crude\""));
    assert!(dom.contains("aria-label=\"incidence of granulocytopenia in by_period\""));
    assert!(dom.contains("by_sex_and_age</b> was withheld"));
    assert!(dom.contains("id=\"table1-baseline\""));
    assert!(dom.contains("outcomes.neutropenia"));
    assert!(dom.contains("Kinoshita"), "the outcome's citation");
    assert!(
        dom.contains("table1 baseline = thiamazole_users, ptu_users with"),
        "the script"
    );
    assert!(
        dom.contains("cohort thiamazole_users\n  entry:"),
        "the cohort IR"
    );

    // No count of 1–9 in a picture: every count an SVG draws (an attrition box's persons
    // and removed, a pyramid bar's persons) is 0, a multiple of 10, or `<10`.
    let mut numbers = 0;
    for t in svg_texts(&html) {
        let count = t
            .strip_prefix("persons: ")
            .or_else(|| t.strip_prefix("removed: "))
            .unwrap_or(&t);
        if count == "&lt;10" {
            continue;
        }
        if !count.is_empty() && count.chars().all(|c| c.is_ascii_digit()) {
            let n: u64 = count.parse().expect("a number");
            numbers += 1;
            assert!(n == 0 || n.is_multiple_of(10), "`{t}` shows the count {n}");
        }
    }
    assert!(numbers > 20, "the pictures show their counts ({numbers})");
    // Hidden counts are drawn as outlines that say so.
    assert!(html.contains("fewer than 10 (suppressed)"));
    assert!(dom.contains("&lt;10"), "a hidden count reads <10");

    // In the pixels: the attrition boxes, both sexes of the pyramid, the incidence dots,
    // in that order from the top.
    let shot = screenshot(&page, &out.join("report.png"));
    let box_ = rows_with(&shot, [0xe8, 0xf0, 0xfe]);
    let women = rows_with(&shot, [0xc2, 0x18, 0x5b]);
    let men = rows_with(&shot, [0x15, 0x65, 0xc0]);
    let dots = rows_with(&shot, [0x2e, 0x7d, 0x32]);
    for (part, rows) in [
        ("attrition", &box_),
        ("women", &women),
        ("men", &men),
        ("incidence", &dots),
    ] {
        assert!(
            rows.len() > 10,
            "the screenshot shows the {part} ({} rows)",
            rows.len()
        );
    }
    assert!(
        box_[0] < women[0] && women[0] < dots[0],
        "attrition, then pyramid, then incidence"
    );
}

#[test]
fn report_none_writes_no_page() {
    let out = run_example(&["--report", "none"]);
    assert!(!out.join("report.html").exists());
    assert!(out.join("reports/baseline.parquet").exists());
}
