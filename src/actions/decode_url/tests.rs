//! Unit tests of Decode URL: splitting, de-duplication, API answers among local results.

use super::*;

#[test]
fn strings_split_only_before_a_scheme() {
    let split = |s: &str| List::Text(s.into()).split_with(split_urls);
    assert_eq!(
        split("https://a.example/x,y, https://b.example/,\nHTTP://c.example ,not-a-url"),
        vec![
            "https://a.example/x,y",
            "https://b.example/",
            "HTTP://c.example ,not-a-url"
        ]
    );
    assert_eq!(
        split("https://a.example/?q=1,2"),
        vec!["https://a.example/?q=1,2"]
    );
    assert_eq!(split(" \n "), Vec::<String>::new());
}

#[test]
fn decoding_stops_at_its_stop_time() {
    let url = crate::unwrap::encode::v3("https://example.com/a?b=c");
    let inputs: Vec<Cow<'_, str>> = (0..PARALLEL_FROM + 10)
        .map(|_| Cow::Borrowed(url.as_str()))
        .collect();
    let local = |stop_at| Local {
        request: "",
        request_buffer: 0,
        first_buffer: 1,
        ask_api: false,
        url_defense_offline: true,
        stop_at,
    };
    let count = |results: &Results, done: bool| {
        results
            .iter()
            .flatten()
            .filter(|r| matches!(r, Decoded::Unfinished) != done)
            .count()
    };
    let (_, _, results) = decode_all(&inputs, &local(None), || ());
    assert_eq!(count(&results, true), inputs.len());
    // A stop time already past: nothing is decoded, every input is there, unfinished.
    let past = Some(std::time::Instant::now());
    let (_, _, results) = decode_all(&inputs, &local(past), || ());
    assert_eq!(count(&results, false), inputs.len());
    assert_eq!(results.len(), inputs.len().div_ceil(CHUNK));
}

/// A helper narrows its affinity only for the move: whatever it was allowed before, it is
/// allowed again after, so the scheduler may still place it anywhere later.
#[cfg(target_os = "linux")]
#[test]
fn a_helper_leaving_its_spawners_cpu_gets_its_affinity_back() {
    use rustix::thread::sched_getaffinity;
    let here = current_cpu();
    assert!(here.is_some());
    std::thread::spawn(move || {
        let before = sched_getaffinity(None).expect("affinity");
        leave_cpu(here);
        let after = sched_getaffinity(None).expect("affinity");
        assert_eq!(before, after);
        // A CPU number past what an affinity set can hold changes nothing, and does not panic.
        leave_cpu(Some(rustix::thread::CpuSet::MAX_CPU));
        assert_eq!(sched_getaffinity(None).expect("affinity"), before);
    })
    .join()
    .unwrap();
}
