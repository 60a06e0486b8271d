//! Decode URL (SPEC §4.2): URL Defense URLs, and the other vendors' safe links around or inside
//! them, unwrapped offline, with the TAP decode API as fallback for URL Defense (`auto`), as the
//! decoder of URL Defense layers (`api`), or never (`local`).
//!
//! Local decoding is the default because `POST /v2/url/decode` is throttled to 1 800 calls a day
//! and every URL Defense format in use decodes without it. Only URL Defense links ever go to the
//! API: it reads no other vendor's.

use std::borrow::Cow;
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::context::{ActionDef, ActionInfo, Context, Outcome};

use crate::error::{Error, ErrorCode, Result};
use crate::params::parameters;
use crate::params::{Choice, Flag, List};
use crate::protocol::{DecodeSource, DecodedUrls, TextRef};
use crate::unwrap::{self, DecodeError, Failure, Layers};
use foldhash::HashSet;

/// Decode URL, as the registry lists it.
pub(crate) struct DecodeUrl;

impl ActionDef for DecodeUrl {
    const INFO: &'static ActionInfo = &ActionInfo {
        name: "decode_url",
        display_name: "Decode URL",
        script_name: "ProofPointTAP_DecodeURL",
        tool_name: "proof_point_tap_decode_url",
        result_name: "decoded_urls",
        description: "Decode URLs rewritten by Proofpoint URL Defense (v1, v2, v3) and the safe links of other mail gateways around or inside them (Microsoft Safe Links, FireEye, Barracuda, Sophos, Trend Micro, Symantec, Google, Cisco, Check Point, Libraesva, Hornetsecurity, Egress), from DestinationURL entities and the Encoded URLs parameter. Decodes offline by default; only URL Defense links that cannot be decoded locally go to the TAP decode API.",
    };
    type Params<'a> = Params<'a>;

    fn example() -> Value {
        json!({
            "action": "decode_url",
            "case_id": "1042",
            "target_entities": [{
                "identifier": "HTTPS://URLDEFENSE.COM/V3/__HTTPS://GOOGLE.COM:443/SEARCH?Q=A*TEST&GS=PS__;KW!-612FLBF0JVQ3KNJKRI5JG!UE6TQUDNKASHHG93TRCDJQDP8SE2YSE65JYCIE2K1D_UNJZ1LNF6YLQERUJNGZV9UWF66UJQIQ$",
                "entity_type": "DestinationURL",
                "additional_properties": {
                    "OriginalIdentifier": "https://urldefense.com/v3/__https://google.com:443/search?q=a*test&gs=ps__;Kw!-612Flbf0JvQ3kNJkRi5Jg!Ue6tQudNKaShHg93trcdjqDP8se2ySE65jyCIe2K1D_uNjZ1Lnf6YLQERujngZv9UWf66ujQIQ$"
                }
            }],
            "parameters": {
                "encoded_urls": "https://urldefense.proofpoint.com/v2/url?u=https-3A__media.mnn.com_assets_images_2016_06_jupiter-2Dnasa.jpg.638x0-5Fq80-5Fcrop-2Dsmart.jpg&d=DwMBaQ&c=Vxt5e0Osvvt2gflwSlsJ5DmPGcPvTRKLJyp031rXjhg&r=BTD8MPjq1qSLi0tGKaB5H6aCJZZBjwYkLyorZdRQrnY&m=iKjixvaJuqvmReS78AB0JiActTrR_liSq7lDRjEQ9DE&s=-M8Vz-GV-kqkNVf1BAtv38DdudAHVDAI6_jQQLVmleE&e=",
                "create_url_entities": true,
                "decode_mode": "local"
            }
        })
    }

    fn run<'a>(ctx: &'a Context, params: Params<'a>) -> impl Future<Output = Result<Outcome>> + 'a {
        run(ctx, params)
    }
}

/// Where URLs are decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DecodeMode {
    /// Offline first; what cannot be decoded offline goes to the TAP API when credentials are set.
    #[default]
    Auto,
    /// Offline only: no network connection, no credentials needed.
    Local,
    /// URL Defense layers by the TAP API (1 800 calls a day); other wrappers offline.
    Api,
}

parameters! {
    /// Parameters of Decode URL.
    #[derive(Debug, Deserialize, JsonSchema)]
    #[schemars(title = "Decode URL parameters")]
    pub(crate) struct Params<'a> {
        /// URLs to decode, as a list or one string. A string is split only where a comma or newline is
        /// followed by http:// or https://, since URL Defense URLs contain commas.
        #[param("Encoded URLs", aliases = ["encoded_ur_ls"])]
        #[serde(default)]
        #[serde(borrow)]
        pub encoded_urls: List<'a>,
        /// Create a DestinationURL entity for each decoded URL that is not already a target entity.
        #[param("Create URL Entities")]
        #[serde(default = "yes")]
        pub create_url_entities: Flag,
        /// auto: offline, then the TAP API for URL Defense links left; local: offline only; api: URL Defense by the TAP API, other wrappers offline.
        #[param("Decode Mode")]
        #[serde(default)]
        pub decode_mode: Choice<DecodeMode>,
    }
}

fn yes() -> Flag {
    Flag(true)
}

/// Splits a string of URLs at each comma or newline followed by optional whitespace and
/// `http://` or `https://`.
pub(crate) fn split_urls(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c != ',' && c != '\n' {
            continue;
        }
        let next = text[i + 1..].trim_start();
        let starts_url = ["http://", "https://"].iter().any(|scheme| {
            next.get(..scheme.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(scheme))
        });
        if starts_url {
            items.push(&text[start..i]);
            start = i + 1;
        }
    }
    items.push(&text[start..]);
    items
}

/// One URL's result.
enum Decoded {
    Ok {
        /// `None` when the URL is not a slice of the request (it came from an entity, or held
        /// JSON escapes): it is copied into the list when the result is assembled.
        encoded: Option<TextRef>,
        decoded: TextRef,
        source: DecodeSource,
        layers: Layers,
        extra: Option<Box<Map<String, Value>>>,
    },
    Failed(Box<Error>),
    /// Left for the API.
    Pending(Box<Pending>),
    /// Not reached before the execution deadline.
    Unfinished,
}

/// A URL Defense link left for the TAP decode API.
struct Pending {
    /// Why offline decoding did not do, if it was tried.
    local: Option<Error>,
    /// The link to send, when it is not the input itself but was found inside other wrappers.
    inner: Option<String>,
    /// The layers taken off offline to reach it.
    layers: Layers,
}

/// Results in input order, in chunks of [`CHUNK`] (the last may be shorter): input `i` is
/// `results[i / CHUNK][i % CHUNK]`. Chunks are kept as the decoding threads made them.
type Results = Vec<Vec<Decoded>>;

/// Where `part` lies in `whole`, when it is a slice of that very text (not merely equal to some of
/// it). Found by address, so it costs nothing; lets results point into the request instead of
/// copying the URLs out of it.
fn slice_range(whole: &str, part: &str) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let range = start..start.checked_add(part.len())?;
    (whole.get(range.clone())?.as_ptr() == part.as_ptr()).then_some(range)
}

/// The envelope's code for a URL that could not be unwrapped: no known wrapper at all, a wrapper
/// only its vendor resolves, or one that does not decode.
fn error_code(e: &DecodeError) -> ErrorCode {
    match e {
        DecodeError::NotWrapped => ErrorCode::NotUrlDefense,
        DecodeError::Opaque { .. } => ErrorCode::NotDecodableOffline,
        _ => ErrorCode::DecodeFailed,
    }
}

/// What becomes of a URL that offline decoding could not finish: left for the API when it is a
/// URL Defense link the API may read and the API is to be asked, else a failure.
fn unfinished(url: &str, failure: Box<Failure>, ask_api: bool) -> Decoded {
    let error = || {
        Error::new(error_code(&failure.error), failure.to_string()).with_subject(url.to_string())
    };
    let send = ask_api.then(|| failure.for_api(url)).flatten();
    let Some(send) = send else {
        return Decoded::Failed(Box::new(error()));
    };
    let inner = (send != url.trim()).then(|| send.to_owned());
    let local = (failure.error != DecodeError::LeftForApi).then(error);
    Decoded::Pending(Box::new(Pending {
        local,
        inner,
        layers: failure.layers,
    }))
}

/// URLs per call to the decode API.
const API_BATCH: usize = 200;

/// From this many URLs on, local decoding is spread over the machine's cores.
const PARALLEL_FROM: usize = 4096;

/// Runs Decode URL.
pub(crate) async fn run(ctx: &Context, params: Params<'_>) -> Result<Outcome> {
    let Params {
        encoded_urls,
        create_url_entities: Flag(create_entities),
        decode_mode: Choice(mode),
    } = params;
    let inputs = gather(ctx, encoded_urls);
    let no_urls = || {
        Ok(Outcome::completed(
            false,
            "No URLs to decode: add DestinationURL entities to the scope or list URLs in the \"Encoded URLs\" parameter.",
        ))
    };
    if inputs.is_empty() {
        return no_urls();
    }
    let api_usable = mode == DecodeMode::Api || ctx.config.credentials().is_ok();
    let mut list = DecodedUrls::default();
    // Encoded URLs read straight from the request are kept as slices of it, not copied.
    let request = list.add_request(Arc::clone(&ctx.request_text));
    let (keep, mut results) = {
        let local = Local {
            request: &ctx.request_text,
            request_buffer: request,
            first_buffer: list.buffer_count(),
            ask_api: mode == DecodeMode::Api || (mode == DecodeMode::Auto && api_usable),
            url_defense_offline: mode != DecodeMode::Api,
            // Half the time left: what is decoded must still be assembled and written, which
            // takes about as long as decoding it.
            stop_at: ctx.deadline.map(|deadline| {
                let now = std::time::Instant::now();
                now + deadline.into_std().saturating_duration_since(now) / 2
            }),
        };
        // Duplicates are found while other threads start decoding; a duplicate's result is
        // simply not used.
        let (keep, texts, results) = decode_all(&inputs, &local, || distinct(&inputs));
        for (thread, text) in texts.into_iter().enumerate() {
            let buffer = list.add_buffer(text);
            debug_assert_eq!(buffer, local.first_buffer + thread);
        }
        (keep, results)
    };
    if !keep.contains(&true) {
        return no_urls();
    }

    let pending: Vec<usize> = results
        .iter()
        .flatten()
        .enumerate()
        .filter(|&(i, r)| keep[i] && matches!(r, Decoded::Pending(_)))
        .map(|(i, _)| i)
        .collect();
    // What each pending input sends: itself, or the URL Defense link found inside it.
    let sent = |results: &Results, i: usize| match &results[i / CHUNK][i % CHUNK] {
        Decoded::Pending(p) => p.inner.clone().unwrap_or_else(|| inputs[i].to_string()),
        _ => inputs[i].to_string(),
    };
    let mut api_failure: Option<Error> = None;
    if !pending.is_empty() {
        match ctx.client() {
            Err(e) => api_failure = Some(e),
            Ok(client) => {
                for batch in pending.chunks(API_BATCH) {
                    let urls: Vec<String> = batch.iter().map(|&i| sent(&results, i)).collect();
                    match client.decode_urls(&urls).await {
                        Ok(answer) => apply_api_answer(
                            &mut results,
                            &mut list,
                            &inputs,
                            batch,
                            &urls,
                            answer.urls,
                        ),
                        Err(e) => {
                            api_failure = Some(e);
                            break;
                        }
                    }
                }
            }
        }
    }
    outcome(
        ctx,
        create_entities,
        &inputs,
        &keep,
        results,
        list,
        api_failure,
    )
}

/// What local decoding needs to know to give results their final form.
struct Local<'r> {
    /// The request text, which most URLs are slices of.
    request: &'r str,
    /// The request's buffer number in the result list.
    request_buffer: usize,
    /// The buffer number the first decoding thread's texts will get; the others follow.
    first_buffer: usize,
    /// Whether a URL Defense URL that did not decode goes to the API next.
    ask_api: bool,
    /// Whether URL Defense layers are decoded offline (all modes but `api`).
    url_defense_offline: bool,
    /// When decoding stops, done or not: millions of URLs are seconds of work, and the deadline
    /// holds for them too (the envelope of what was decoded must be out before it).
    stop_at: Option<std::time::Instant>,
}

/// Inputs taken at a time by a decoding thread.
const CHUNK: usize = 1024;

/// Decodes every URL locally: what `first` returns (run on this thread before it joins the
/// decoding), the decoded texts (one buffer per thread, in thread order) and the results. On
/// several threads when there are many, each taking the next chunk of inputs as it goes rather
/// than a fixed share: a new thread can wait milliseconds for a core (until the scheduler's next
/// balancing tick), and meanwhile the others take its share.
fn decode_all<T>(
    inputs: &[Cow<'_, str>],
    local: &Local<'_>,
    first: impl FnOnce() -> T,
) -> (T, Vec<String>, Results) {
    // Asking for the core count reads cgroup files: only worth it for a large input.
    let threads = if inputs.len() < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
    };
    let chunks = inputs.len().div_ceil(CHUNK);
    // A decoded URL is never longer than its URL Defense form, so no buffer needs to grow; what
    // stays unused is never touched and costs no memory.
    let capacity: usize = inputs.iter().map(|u| u.len()).sum();
    let next = AtomicUsize::new(0);
    let work = |thread: usize| {
        let buffer = local.first_buffer + thread;
        let mut text = String::with_capacity(capacity);
        let mut scratch = unwrap::Scratch::default();
        let mut done = Vec::new();
        loop {
            if local
                .stop_at
                .is_some_and(|t| std::time::Instant::now() >= t)
            {
                break;
            }
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= chunks {
                break;
            }
            let urls = &inputs[k * CHUNK..inputs.len().min((k + 1) * CHUNK)];
            let results = urls
                .iter()
                .map(|url| {
                    let start = text.len();
                    let decoded = if local.url_defense_offline {
                        unwrap::decode_into(url, &mut text, &mut scratch)
                    } else {
                        unwrap::decode_for_api(url, &mut text, &mut scratch)
                    };
                    match decoded {
                        Ok(layers) => Decoded::Ok {
                            encoded: slice_range(local.request, url)
                                .map(|range| TextRef::new(local.request_buffer, range)),
                            decoded: TextRef::new(buffer, start..text.len()),
                            source: DecodeSource::Local,
                            layers,
                            extra: None,
                        },
                        Err(failure) => unfinished(url, failure, local.ask_api),
                    }
                })
                .collect();
            done.push((k, results));
        }
        (text, done)
    };
    let (before, outputs) = if threads == 1 {
        (first(), vec![work(0)])
    } else {
        std::thread::scope(|scope| {
            let here = current_cpu();
            let helpers: Vec<_> = (1..threads)
                .map(|t| {
                    scope.spawn(move || {
                        leave_cpu(here);
                        work(t)
                    })
                })
                .collect();
            // Lets a helper queued on this CPU run now and move away (see `leave_cpu`).
            std::thread::yield_now();
            let before = first();
            let mut outputs = vec![work(0)];
            outputs.extend(helpers.into_iter().map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }));
            (before, outputs)
        })
    };
    let mut texts = Vec::with_capacity(outputs.len());
    let mut numbered = Vec::with_capacity(chunks);
    for (text, done) in outputs {
        texts.push(text);
        numbered.extend(done);
    }
    numbered.sort_unstable_by_key(|(k, _)| *k);
    // Chunks no thread took before the deadline are there too, unfinished.
    let mut numbered = numbered.into_iter().peekable();
    let results = (0..chunks)
        .map(|k| match numbered.next_if(|(n, _)| *n == k) {
            Some((_, results)) => results,
            None => {
                let len = inputs.len().min((k + 1) * CHUNK) - k * CHUNK;
                (0..len).map(|_| Decoded::Unfinished).collect()
            }
        })
        .collect();
    (before, texts, results)
}

/// The CPU the calling thread runs on, where that can be asked (Linux).
fn current_cpu() -> Option<usize> {
    #[cfg(target_os = "linux")]
    return Some(rustix::thread::sched_getcpu());
    #[cfg(not(target_os = "linux"))]
    return None;
}

/// Moves a thread just started off `cpu`, its spawner's, then lets it run anywhere again.
///
/// A new thread can be queued on its spawner's CPU and wait there until the next scheduler tick
/// while the other CPUs idle: on a two-CPU virtual machine a decoding helper started 1-2.6 ms
/// late (of a 10 ms decode), and the two threads took turns on one CPU meanwhile. Asked to
/// leave, it is moved at once; affinity is given back straight after, so the scheduler stays
/// free to place it later. Best effort: with one CPU allowed, or where affinity cannot be set,
/// nothing changes.
fn leave_cpu(cpu: Option<usize>) {
    #[cfg(target_os = "linux")]
    if let Some(cpu) = cpu {
        use rustix::thread::{sched_getaffinity, sched_setaffinity, CpuSet};
        // A CPU past what the set can name (it would index out of it) is left alone.
        if cpu >= CpuSet::MAX_CPU {
            return;
        }
        let Ok(allowed) = sched_getaffinity(None) else {
            return;
        };
        let mut elsewhere = allowed;
        elsewhere.unset(cpu);
        if elsewhere.count() > 0 && sched_setaffinity(None, &elsewhere).is_ok() {
            let _ = sched_setaffinity(None, &allowed);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpu;
}

/// Target entity URLs first, then the parameter's, as given (see [`distinct`]). URLs stay
/// borrowed from the request and the entities.
fn gather<'a>(ctx: &'a Context, encoded_urls: List<'a>) -> Vec<Cow<'a, str>> {
    let mut all: Vec<Cow<'a, str>> = ctx
        .entities
        .iter()
        .filter(|e| e.is_type("DestinationURL"))
        .map(|e| Cow::Borrowed(e.value().trim()))
        .collect();
    if all.is_empty() {
        all = encoded_urls.into_items(split_urls);
    } else {
        all.extend(encoded_urls.into_items(split_urls));
    }
    all
}

/// Which URLs count: the first of each, empty ones not at all.
fn distinct(urls: &[Cow<'_, str>]) -> Vec<bool> {
    let mut seen = HashSet::default();
    seen.reserve(urls.len());
    urls.iter()
        .map(|u| !u.is_empty() && seen.insert(u.as_ref()))
        .collect()
}

/// Puts the API's answer for one batch in place. A decoded URL that is itself wrapped (Safe Links
/// inside URL Defense) is unwrapped further offline; the layers are those taken off before the
/// link was sent, the URL Defense layer the API took off, and those after.
fn apply_api_answer(
    results: &mut Results,
    list: &mut DecodedUrls,
    inputs: &[Cow<'_, str>],
    batch: &[usize],
    sent: &[String],
    answer: Vec<crate::tap::DecodedItem>,
) {
    let mut scratch = unwrap::Scratch::default();
    for (pos, (&index, url)) in batch.iter().zip(sent).enumerate() {
        let input = inputs[index].to_string();
        // Items are matched by the URL TAP echoes; by position when it echoes a different form.
        let item = answer
            .iter()
            .find(|item| item.encoded_url == *url)
            .or_else(|| answer.get(pos).filter(|_| answer.len() == sent.len()));
        let slot = &mut results[index / CHUNK][index % CHUNK];
        let before = match slot {
            Decoded::Pending(p) => p.layers,
            _ => Layers::default(),
        };
        *slot = match item {
            Some(item) if item.success && item.decoded_url.is_some() => {
                let decoded = item.decoded_url.as_deref().unwrap_or_default();
                let mut layers = before;
                layers.push(unwrap::wrapper_kind(url).unwrap_or(unwrap::Layer::UrlDefense));
                let mut further = String::new();
                let text = match unwrap::decode_into(decoded, &mut further, &mut scratch) {
                    Ok(inner) => {
                        layers = layers.then(inner);
                        further.as_str()
                    }
                    // Not wrapped, or not further than this: the API's answer as it is.
                    Err(_) => decoded,
                };
                Decoded::Ok {
                    // Copied when assembled: the API decodes at most 1 800 URLs a day.
                    encoded: None,
                    decoded: list.push_text(text),
                    source: DecodeSource::Api,
                    layers,
                    extra: (!item.extra.is_empty()).then(|| Box::new(item.extra.clone())),
                }
            }
            Some(item) => {
                let reason = item.error.as_deref().unwrap_or("no reason given");
                let mut message = format!("the TAP decode API could not decode it: {reason}");
                if *url != input.trim() {
                    message.push_str(&format!(" (sent: {url})"));
                }
                Decoded::Failed(Box::new(
                    Error::new(ErrorCode::DecodeFailed, message).with_subject(input),
                ))
            }
            None => Decoded::Failed(Box::new(
                Error::new(
                    ErrorCode::InvalidResponse,
                    "the TAP decode API's answer did not include this URL",
                )
                .with_subject(input),
            )),
        };
    }
}

mod report;
use report::outcome;

#[cfg(test)]
mod tests;
