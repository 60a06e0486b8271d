//! `cargo bench --bench decode`: decoding speed of URL Defense and the other wrappers.
//!
//! 1. The decoder alone, on v3 URLs, on a v1/v2/v3 mix, on the shared corpus of real URL Defense
//!    URLs and on a mixed corpus (those and the real links of other vendors): URLs per second on
//!    one core. Target: at least 1 000 000 v3 URLs per second.
//! 2. End to end: 50 000 mixed URLs in one Decode URL request through the release binary, whole
//!    process, side by side with `benches/python_decoder.py` on the same request.
//!    Target: at least 20 times faster.
//!
//! Each figure is the median of several rounds, with min and max. No external harness: the numbers
//! are plain wall-clock measurements printed as a table.

use std::hint::black_box;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Instant;

use proofpoint_tap::unwrap::{decode_into, encode, Scratch};

/// Deterministic pseudo-random numbers (xorshift), so every run decodes the same URLs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// A realistic link: a host, a few path segments, a query, sometimes non-ASCII or `+`/`*`.
fn original_url(rng: &mut Rng) -> String {
    let hosts = [
        "www.example.com",
        "login.microsoftonline.example",
        "cdn.shop.example",
        "docs.example.org",
    ];
    let words = [
        "account", "verify", "invoice", "2024", "files", "d", "view", "café", "résumé", "a+b",
        "x*y", "docs",
    ];
    let mut url = format!("https://{}/", rng.pick(&hosts));
    for _ in 0..(2 + rng.next() % 4) {
        url.push_str(rng.pick(&words));
        url.push('/');
    }
    url.push_str(&format!(
        "index.html?id={}&ref={}&utm_source=mail",
        rng.next() % 100_000,
        rng.pick(&words)
    ));
    url
}

fn urls(count: usize, mix: bool, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    (0..count)
        .map(|i| {
            let url = original_url(&mut rng);
            match if mix { i % 3 } else { 2 } {
                0 => encode::v1(&url),
                1 => encode::v2(&url),
                _ => encode::v3(&url),
            }
        })
        .collect()
}

/// The encoded URLs of shared corpora (`(file, column)`: the column of each row holding them),
/// repeated to 200 000 inputs so that a round lasts long enough to time.
fn corpus_urls(files: &[(&str, usize)]) -> Vec<String> {
    let mut rows = Vec::new();
    for (file, column) in files {
        let path = format!("{}/../shared/corpora/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        rows.extend(
            text.lines()
                .filter_map(|line| line.split('\t').nth(*column))
                .map(str::to_owned),
        );
    }
    rows.iter().cycle().take(200_000).cloned().collect()
}

struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

fn stats(mut samples: Vec<f64>) -> Stats {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Stats {
        median: samples[samples.len() / 2],
        min: samples[0],
        max: samples[samples.len() - 1],
    }
}

/// URLs per second through `decode_into` with reused buffers, as Decode URL calls it.
fn decoder_rate(inputs: &[String], rounds: usize) -> Stats {
    let mut scratch = Scratch::default();
    let mut out = String::new();
    let mut one = |u: &String| {
        out.clear();
        black_box(decode_into(black_box(u), &mut out, &mut scratch).ok());
    };
    // Warm up caches and the branch predictor.
    inputs.iter().take(10_000).for_each(&mut one);
    let rates = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            inputs.iter().for_each(&mut one);
            inputs.len() as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    stats(rates)
}

fn time_process(program: &str, args: &[&str], input: &[u8], rounds: usize) -> Option<Stats> {
    let mut times = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        // A clean environment, as benches/run.py gives: an inherited PYTHONUNBUFFERED or log
        // filter would change what is compared.
        let mut child = Command::new(program)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut stdin = child.stdin.take()?;
        let data = input.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&data));
        let output = child.wait_with_output().ok()?;
        writer.join().ok()?.ok()?;
        let elapsed = start.elapsed();
        if !output.status.success() || output.stdout.is_empty() {
            return None;
        }
        times.push(elapsed.as_secs_f64() * 1000.0);
    }
    Some(stats(times))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list of benchmarks.
    }
    println!(
        "Decoder benchmarks ({} rounds each; median [min .. max])",
        7
    );
    println!();
    let corpus = corpus_urls(&[("urldefense_real.tsv", 0)]);
    let mixed = corpus_urls(&[("urldefense_real.tsv", 0), ("wrappers_real.tsv", 1)]);
    let v3 = urls(200_000, false, 0x5eed);
    let mix = urls(200_000, true, 0xfeed);
    let r3 = decoder_rate(&v3, 7);
    let rm = decoder_rate(&mix, 7);
    let rc = decoder_rate(&corpus, 7);
    let rx = decoder_rate(&mixed, 7);
    println!("| measurement | median | min | max | target |");
    println!("|---|---|---|---|---|");
    println!(
        "| decoder, v3 URLs/s (1 core) | {:.0} | {:.0} | {:.0} | >= 1 000 000 ({}) |",
        r3.median,
        r3.min,
        r3.max,
        if r3.median >= 1e6 { "met" } else { "MISSED" }
    );
    println!(
        "| decoder, v1/v2/v3 mix URLs/s (1 core) | {:.0} | {:.0} | {:.0} | — |",
        rm.median, rm.min, rm.max
    );

    println!(
        "| decoder, real URL Defense corpus URLs/s (1 core) | {:.0} | {:.0} | {:.0} | — |",
        rc.median, rc.min, rc.max
    );
    println!(
        "| decoder, mixed real corpus (URL Defense and other wrappers) URLs/s (1 core) | {:.0} | {:.0} | {:.0} | — |",
        rx.median, rx.min, rx.max
    );

    let bulk = urls(50_000, true, 0xb0b);
    let request = serde_json::json!({
        "action": "decode_url",
        "parameters": {"encoded_urls": bulk, "decode_mode": "local", "create_url_entities": false}
    })
    .to_string();
    if let Some(path) = std::env::var_os("DECODE_BENCH_SAVE") {
        // For profiling the end-to-end run by hand: `DECODE_BENCH_SAVE=req.json cargo bench`.
        std::fs::write(path, &request).expect("the request can be saved");
    }
    let rust = time_process(
        env!("CARGO_BIN_EXE_proofpoint-tap"),
        &[],
        request.as_bytes(),
        5,
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/python_decoder.py");
    // As fast as Python runs it: no site imports, no PYTHON* variables.
    let python = time_process("python3", &["-S", "-E", script], request.as_bytes(), 5);
    match (rust, python) {
        (Some(r), Some(p)) => {
            println!(
                "| 50 000 URLs end to end, proofpoint-tap (ms) | {:.1} | {:.1} | {:.1} | — |",
                r.median, r.min, r.max
            );
            println!(
                "| 50 000 URLs end to end, python3 decoder (ms) | {:.1} | {:.1} | {:.1} | — |",
                p.median, p.min, p.max
            );
            let ratio = p.median / r.median;
            println!(
                "| speed-up (python median / rust median) | {ratio:.1}x | | | >= 20x ({}) |",
                if ratio >= 20.0 { "met" } else { "MISSED" }
            );
        }
        (r, p) => println!(
            "end-to-end comparison skipped: proofpoint-tap {}, python3 {}",
            if r.is_some() { "ran" } else { "failed" },
            if p.is_some() {
                "ran"
            } else {
                "failed or missing"
            }
        ),
    }
}
