//! Measuring the processes and printing what was measured.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::time::Duration;

/// CPU seconds (user + system) a process has used so far, from /proc.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

fn clock_ticks() -> f64 {
    // USER_HZ is 100 on every Linux this runs on.
    100.0
}

/// Resident memory of a process in bytes, from /proc.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU used by the server (if its pid is known) and by this generator.
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    server: Option<f64>,
    generator: Option<f64>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuUsed {
    pub server_s: Option<f64>,
    pub generator_s: Option<f64>,
}

impl CpuMark {
    pub fn now(server_pid: Option<u32>) -> Self {
        Self {
            server: server_pid.and_then(cpu_seconds),
            generator: cpu_seconds(std::process::id()),
        }
    }

    pub fn since(&self, server_pid: Option<u32>) -> CpuUsed {
        let now = Self::now(server_pid);
        CpuUsed {
            server_s: now.server.zip(self.server).map(|(b, a)| b - a),
            generator_s: now.generator.zip(self.generator).map(|(b, a)| b - a),
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Default)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |v: u64| v as f64 / 1000.0;
        if h.is_empty() {
            return Self::default();
        }
        Self {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

/// A histogram of microseconds, 1 µs to 10 min, 3 significant digits.
#[expect(
    clippy::expect_used,
    reason = "the bounds are constants that hdrhistogram accepts"
)]
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("constant bounds are valid")
}

pub fn micros(d: Duration) -> u64 {
    d.as_micros().clamp(1, 600_000_000) as u64
}

/// One point of a ramp: offered load and what came of it.
#[derive(Debug, Clone, Serialize)]
pub struct RampPoint {
    pub offered_deliveries_per_s: f64,
    pub deliveries_per_s: f64,
    pub latency: Latency,
    pub lost: u64,
    /// Readers the server closed during the step, and with which codes:
    /// tells "cut off as too slow" (4000) from loss.
    pub disconnected: u64,
    pub close_codes: Vec<u16>,
}

/// An SVG line chart of latency percentiles against offered load.
pub fn ramp_svg(points: &[RampPoint], slo_ms: f64) -> String {
    let (w, h, left, bottom, top, right) = (760.0, 440.0, 70.0, 50.0, 30.0, 150.0);
    let max_x = points
        .iter()
        .map(|p| p.offered_deliveries_per_s)
        .fold(1.0, f64::max);
    let max_y = points
        .iter()
        .map(|p| p.latency.p99_ms)
        .fold(slo_ms * 1.2, f64::max);
    let x = |v: f64| left + v / max_x * (w - left - right);
    let y = |v: f64| h - bottom - v / max_y * (h - bottom - top);
    let mut svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='12'>\n\
         <rect width='100%' height='100%' fill='white'/>\n\
         <line x1='{left}' y1='{}' x2='{}' y2='{}' stroke='black'/>\n\
         <line x1='{left}' y1='{top}' x2='{left}' y2='{}' stroke='black'/>\n\
         <text x='{}' y='{}' text-anchor='middle'>offered deliveries/s</text>\n\
         <text x='15' y='{}' transform='rotate(-90 15 {})' text-anchor='middle'>latency (ms)</text>\n",
        h - bottom,
        w - right,
        h - bottom,
        h - bottom,
        (left + w - right) / 2.0,
        h - 10.0,
        h / 2.0,
        h / 2.0
    );
    for i in 0..=5 {
        let vx = max_x * i as f64 / 5.0;
        let vy = max_y * i as f64 / 5.0;
        svg += &format!(
            "<text x='{:.1}' y='{}' text-anchor='middle'>{:.0}k</text>\n<text x='{}' y='{:.1}' text-anchor='end'>{:.0}</text>\n",
            x(vx),
            h - bottom + 18.0,
            vx / 1000.0,
            left - 6.0,
            y(vy) + 4.0,
            vy
        );
    }
    svg += &format!(
        "<line x1='{left}' y1='{:.1}' x2='{}' y2='{:.1}' stroke='grey' stroke-dasharray='4'/>\n<text x='{}' y='{:.1}'>SLO p99 {slo_ms} ms</text>\n",
        y(slo_ms),
        w - right,
        y(slo_ms),
        w - right + 5.0,
        y(slo_ms) + 4.0
    );
    type Series = (&'static str, &'static str, fn(&Latency) -> f64);
    let series: [Series; 3] = [
        ("p50", "#1b9e77", |l| l.p50_ms),
        ("p99", "#d95f02", |l| l.p99_ms),
        ("p99.9", "#7570b3", |l| l.p999_ms),
    ];
    for (i, (name, colour, get)) in series.iter().enumerate() {
        let path: Vec<String> = points
            .iter()
            .map(|p| {
                format!(
                    "{:.1},{:.1}",
                    x(p.offered_deliveries_per_s),
                    y(get(&p.latency).min(max_y))
                )
            })
            .collect();
        svg += &format!(
            "<polyline fill='none' stroke='{colour}' stroke-width='2' points='{}'/>\n<text x='{}' y='{}' fill='{colour}'>{name}</text>\n",
            path.join(" "),
            w - right + 5.0,
            top + 20.0 + 18.0 * i as f64
        );
    }
    svg + "</svg>\n"
}
