//! TAP's answers where the runner looks inside them. Everything else passes through as TAP sent
//! it; fields TAP adds are kept, not dropped.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The body of `POST /v2/url/decode`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DecodeResponse {
    /// One item per URL sent.
    #[serde(default)]
    pub(crate) urls: Vec<DecodedItem>,
}

/// One URL of a decode answer; fields TAP adds for authenticated calls are kept in `extra`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DecodedItem {
    /// The URL as sent.
    #[serde(rename = "encodedUrl", alias = "encodedURL", default)]
    pub(crate) encoded_url: String,
    /// The decoded URL, absent when decoding failed.
    #[serde(rename = "decodedUrl", alias = "decodedURL", default)]
    pub(crate) decoded_url: Option<String>,
    /// Whether TAP decoded it.
    #[serde(default)]
    pub(crate) success: bool,
    /// TAP's reason for a failure.
    #[serde(default)]
    pub(crate) error: Option<String>,
    /// Everything else TAP sent (`messageGuid`, `clusterName`, `recipientEmail`, ...).
    #[serde(flatten)]
    pub(crate) extra: Map<String, Value>,
}

/// The largest member a view parses, in bytes of JSON text.
pub(crate) const VIEW_LIMIT: usize = 256 * 1024;

/// The largest member read as a single value (an id, a time), in bytes of JSON text.
const SCALAR_LIMIT: usize = 4 * 1024;

/// The bytes of JSON text one run turns into views of objects it holds by the thousand (events,
/// users): at most some hundreds of MiB of values, however the answers are made.
pub(crate) const VIEW_BUDGET: usize = 16 * 1024 * 1024;

/// A JSON object as TAP sent it, each member kept as its raw JSON text. The runner parses only the
/// members it reads and passes the rest through untouched: a 32 MiB campaign stays about 32 MiB,
/// not a tree of values many times its size.
#[derive(Debug, Clone, Default)]
pub(crate) struct TapObject(Vec<(Key, Box<RawValue>)>);

/// A member's name. The names TAP's objects are made of come from [`KNOWN_NAMES`] rather than
/// being allocated for every object: a week of SIEM events is hundreds of thousands of members.
type Key = Cow<'static, str>;

/// Member names of TAP's SIEM events and their threats, in byte order, once each (a test holds
/// them so).
const KNOWN_NAMES: [&str; 46] = [
    "GUID",
    "QID",
    "campaignID",
    "campaignId",
    "ccAddresses",
    "classification",
    "clickIP",
    "clickTime",
    "cluster",
    "completelyRewritten",
    "event_type",
    "fromAddress",
    "headerCC",
    "headerFrom",
    "headerReplyTo",
    "headerTo",
    "id",
    "impostorScore",
    "malwareScore",
    "messageID",
    "messageParts",
    "messageSize",
    "messageTime",
    "modulesRun",
    "phishScore",
    "policyRoutes",
    "quarantineFolder",
    "quarantineRule",
    "recipient",
    "replyToAddress",
    "sender",
    "senderIP",
    "spamScore",
    "subject",
    "threat",
    "threatID",
    "threatId",
    "threatStatus",
    "threatTime",
    "threatType",
    "threatURL",
    "threatUrl",
    "threatsInfoMap",
    "toAddresses",
    "url",
    "userAgent",
];

/// A member name as read: borrowed from the JSON text when it holds no escapes. (`Cow<str>`
/// itself always deserializes owned, one allocation per member.)
struct Name<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> Visitor<'de> for Text {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, name: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(name)))
            }
            fn visit_str<E>(self, name: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(name.to_owned())))
            }
            fn visit_string<E>(self, name: String) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(name)))
            }
        }
        d.deserialize_str(Text)
    }
}

/// `name` as a [`Key`]: borrowed from [`KNOWN_NAMES`] when it is one of them. One look in a
/// table built at compile time and one comparison (a binary search of the names cost as much as
/// the allocation it saved).
fn key_of(name: Cow<'_, str>) -> Key {
    match KNOWN_SLOTS[slot(name.as_bytes())] {
        Some(known) if known == name => Cow::Borrowed(known),
        _ => Cow::Owned(name.into_owned()),
    }
}

/// Where a name goes in [`KNOWN_SLOTS`]: from its length and its first and last two bytes, with
/// weights under which no two known names share a slot.
const fn slot(name: &[u8]) -> usize {
    let len = name.len();
    if len < 2 {
        return 0;
    }
    (len * 8 + name[0] as usize * 8 + name[len - 1] as usize + name[len - 2] as usize * 10) % SLOTS
}

/// The size of [`KNOWN_SLOTS`].
const SLOTS: usize = 128;

/// [`KNOWN_NAMES`] by [`slot`] (a name added that shares a slot with another is not borrowed; a
/// test says so).
const KNOWN_SLOTS: [Option<&str>; SLOTS] = {
    let mut slots: [Option<&str>; SLOTS] = [None; SLOTS];
    let mut i = 0;
    while i < KNOWN_NAMES.len() {
        let at = slot(KNOWN_NAMES[i].as_bytes());
        if slots[at].is_none() {
            slots[at] = Some(KNOWN_NAMES[i]);
        }
        i += 1;
    }
    slots
};

impl TapObject {
    /// A member by its name or one of its drifted spellings: an exact match first, then one that
    /// differs in case only; a `null` member counts as absent.
    pub(crate) fn raw(&self, names: &[&str]) -> Option<&RawValue> {
        find(self.0.iter().map(|(k, v)| (&**k, &**v)), names).filter(|v| v.get() != "null")
    }

    /// The members whose names match any of `names` (in any case), parsed, under TAP's keys and in
    /// TAP's order: what the runner reads of the object, and no more.
    ///
    /// A member over [`VIEW_LIMIT`] is left out: what a table cell or an insight shows is small,
    /// and parsing a huge list of tiny values is what makes memory grow many times the answer.
    pub(crate) fn view(&self, names: &[&str]) -> Map<String, Value> {
        self.0
            .iter()
            .filter(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
            .filter(|(_, v)| v.get().len() <= VIEW_LIMIT)
            .filter_map(|(k, v)| Some((k.to_string(), serde_json::from_str(v.get()).ok()?)))
            .collect()
    }

    /// As [`TapObject::view`], drawing on `budget`: the bytes of JSON text a run may still turn
    /// into values. Once it is spent, members are left out, whatever their size; so the values a
    /// run builds from thousands of objects stay a bounded multiple of the budget.
    pub(crate) fn view_within(&self, names: &[&str], budget: &mut usize) -> Map<String, Value> {
        self.view_by(names, budget)
    }

    fn view_by(&self, names: &[&str], budget: &mut usize) -> Map<String, Value> {
        let mut view = Map::new();
        for (k, v) in self
            .0
            .iter()
            .filter(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
        {
            let len = v.get().len();
            if len > VIEW_LIMIT || len > *budget {
                continue;
            }
            if let Ok(value) = serde_json::from_str(v.get()) {
                *budget -= len;
                view.insert(k.to_string(), value);
            }
        }
        view
    }

    /// A member's value as text (a string as it is, a number printed), when it is small.
    pub(crate) fn text_of(&self, names: &[&str]) -> String {
        match self.raw(names) {
            Some(raw) if raw.get().len() <= SCALAR_LIMIT => scalar_text(raw.get()),
            _ => String::new(),
        }
    }

    /// Sets a member, in place when it exists (as a map keeps its order), else at the end.
    pub(crate) fn insert(&mut self, key: &str, value: &impl Serialize) {
        let Ok(raw) = serde_json::value::to_raw_value(value) else {
            return;
        };
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = raw,
            None => self.0.push((key_of(Cow::Borrowed(key)), raw)),
        }
    }

    /// Takes a member out, leaving `null` in its place (the order of the rest is kept).
    pub(crate) fn take(&mut self, key: &str) -> Option<Box<RawValue>> {
        let (_, v) = self.0.iter_mut().find(|(k, _)| k == key)?;
        let null = RawValue::from_string("null".to_owned()).ok()?;
        Some(std::mem::replace(v, null))
    }
}

/// The value of the member `names` finds among `members` (name, value): an exact spelling first,
/// in the order of `names`, else the first member that differs in case only.
fn find<'a, V>(members: impl Iterator<Item = (&'a str, V)> + Clone, names: &[&str]) -> Option<V> {
    let exact = names
        .iter()
        .find_map(|n| members.clone().find(|(k, _)| k == n));
    exact
        .or_else(|| {
            members
                .clone()
                .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
        })
        .map(|(_, v)| v)
}

/// The JSON text of a scalar as text: a string as it is, a number or a boolean printed; anything
/// else as empty.
fn scalar_text(json: &str) -> String {
    match serde_json::from_str(json) {
        Ok(Value::String(s)) => s,
        Ok(Value::Number(n)) => n.to_string(),
        Ok(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

impl<'de> Deserialize<'de> for TapObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = TapObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TapObject, A::Error> {
                let mut members = Vec::new();
                while let Some(Name(key)) = map.next_key::<Name<'de>>()? {
                    members.push((key_of(key), map.next_value::<Box<RawValue>>()?));
                }
                Ok(TapObject(members))
            }
        }
        d.deserialize_map(Members)
    }
}

impl Serialize for TapObject {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// For each group of spellings, the JSON text of the member found for it among `members` (name,
/// JSON text), as [`TapObject::raw`] finds one, in one pass: an exact spelling first, in the
/// group's order, else the first member that differs in case only; a member over [`VIEW_LIMIT`]
/// counts as absent, as in a view, and `null` as none.
fn pick<'k, 'a, const N: usize>(
    members: impl Iterator<Item = (&'k str, &'a str)>,
    groups: &[&[&str]; N],
) -> [Option<&'a str>; N] {
    // Per group: the exact spelling found first in the group's order, and the first member that
    // matches in case only.
    let mut exact: [Option<(usize, &str)>; N] = [None; N];
    let mut loose: [Option<&str>; N] = [None; N];
    // The names by length, as bits of `by_len[len]` (most members match none of the names, and
    // no name of their length): (group, rank, name) in `flat`.
    let mut flat: [(usize, usize, &str); 64] = [(0, 0, ""); 64];
    let mut by_len = [0u64; 64];
    let mut count = 0;
    for (g, names) in groups.iter().enumerate() {
        for (rank, n) in names.iter().enumerate() {
            assert!(
                count < 64 && n.len() < 64,
                "pick looks for at most 64 short names"
            );
            flat[count] = (g, rank, n);
            by_len[n.len()] |= 1 << count;
            count += 1;
        }
    }
    for (k, v) in members {
        if v.len() > VIEW_LIMIT {
            continue;
        }
        let k = k.as_bytes();
        let mut candidates = by_len.get(k.len()).copied().unwrap_or(0);
        while candidates != 0 {
            let (g, rank, n) = flat[candidates.trailing_zeros() as usize];
            candidates &= candidates - 1;
            if k == n.as_bytes() {
                if exact[g].is_none_or(|(best, _)| rank < best) {
                    exact[g] = Some((rank, v));
                }
            } else if loose[g].is_none() && k.eq_ignore_ascii_case(n.as_bytes()) {
                loose[g] = Some(v);
            }
        }
    }
    std::array::from_fn(|g| {
        exact[g]
            .map(|(_, v)| v)
            .or(loose[g])
            .filter(|v| *v != "null")
    })
}

/// The objects of the JSON list `json` (a message's `threatsInfoMap`), each as its members'
/// names and JSON texts, borrowed; the other elements, or anything but a list, are none.
pub(crate) fn objects_in(json: &str) -> Vec<Vec<(Cow<'_, str>, &str)>> {
    struct Members<'a>(Vec<(Cow<'a, str>, &'a str)>);
    impl<'de> Deserialize<'de> for Members<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Read;
            impl<'de> Visitor<'de> for Read {
                type Value = Members<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut members = Vec::new();
                    while let Some(Name(key)) = map.next_key::<Name<'de>>()? {
                        members.push((key, map.next_value::<&'de RawValue>()?.get()));
                    }
                    Ok(Members(members))
                }
            }
            d.deserialize_map(Read)
        }
    }
    serde_json::from_str::<Events<Members<'_>>>(json)
        .map(|e| e.0.into_iter().map(|m| m.0).collect())
        .unwrap_or_default()
}

/// [`pick`] over the members [`objects_in`] read.
pub(crate) fn pick_in<'a, const N: usize>(
    members: &[(Cow<'_, str>, &'a str)],
    groups: &[&[&str]; N],
) -> [Option<&'a str>; N] {
    pick(members.iter().map(|(k, v)| (&**k, *v)), groups)
}

/// A SIEM event as Search Events keeps it: the JSON text `serde_json` writes for it read as a
/// [`TapObject`] (its members as TAP sent them), made as the answer is read, with where each
/// member's value is in it. One allocation for the event rather than one per member, and no
/// second pass to write it out.
#[derive(Debug, Default)]
pub(crate) struct SiemEvent {
    text: String,
    /// Each member's name and where its JSON text is in `text`.
    members: Vec<(Key, std::ops::Range<usize>)>,
}

impl SiemEvent {
    /// The event's JSON text.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The members, as (name, JSON text).
    fn members(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.members
            .iter()
            .map(|(k, at)| (&**k, self.text.get(at.clone()).unwrap_or("null")))
    }

    /// For each group of spellings, the JSON text of its member ([`pick`]).
    pub(crate) fn pick<const N: usize>(&self, groups: &[&[&str]; N]) -> [Option<&str>; N] {
        pick(self.members(), groups)
    }

    /// As [`TapObject::text_of`].
    pub(crate) fn text_of(&self, names: &[&str]) -> String {
        match find(self.members(), names) {
            Some(raw) if raw != "null" && raw.len() <= SCALAR_LIMIT => scalar_text(raw),
            _ => String::new(),
        }
    }

    /// The event as a [`TapObject`], read again from its text.
    pub(crate) fn to_object(&self) -> TapObject {
        serde_json::from_str(&self.text).unwrap_or_default()
    }

    /// The event with the member `key` set to the JSON text `value`, as [`TapObject::insert`]
    /// sets it: in place when it exists, else at the end.
    pub(crate) fn tagged(self, key: &str, value: &str) -> SiemEvent {
        let SiemEvent { text, mut members } = self;
        let mut out;
        match members.iter().position(|(k, _)| k == key) {
            Some(i) => {
                let at = members[i].1.clone();
                out = String::with_capacity(text.len() - at.len() + value.len());
                out.push_str(&text[..at.start]);
                out.push_str(value);
                out.push_str(&text[at.end..]);
                members[i].1 = at.start..at.start + value.len();
                for (_, later) in &mut members[i + 1..] {
                    *later =
                        later.start - at.len() + value.len()..later.end - at.len() + value.len();
                }
            }
            None => {
                let mut name = String::new();
                push_name(&mut name, key);
                let comma = usize::from(!members.is_empty());
                out = String::with_capacity(text.len() + comma + name.len() + value.len());
                out.push_str(&text[..text.len() - 1]);
                if comma == 1 {
                    out.push(',');
                }
                out.push_str(&name);
                let start = out.len();
                out.push_str(value);
                out.push('}');
                members.push((key_of(Cow::Borrowed(key)), start..start + value.len()));
            }
        }
        SiemEvent { text: out, members }
    }

    /// The event's JSON text.
    pub(crate) fn into_text(self) -> Box<str> {
        self.text.into_boxed_str()
    }
}

/// `name` as a JSON string and a colon, escaped as `serde_json` escapes it.
fn push_name(out: &mut String, name: &str) {
    if name.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(name);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(name).unwrap_or_default());
    }
    out.push(':');
}

impl<'de> Deserialize<'de> for SiemEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = SiemEvent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SiemEvent, A::Error> {
                let mut text = String::with_capacity(1024);
                let mut members = Vec::with_capacity(32);
                text.push('{');
                while let Some(Name(key)) = map.next_key::<Name<'de>>()? {
                    let value = map.next_value::<&'de RawValue>()?.get();
                    if !members.is_empty() {
                        text.push(',');
                    }
                    let key = key_of(key);
                    match key {
                        // A known name needs no escaping.
                        Cow::Borrowed(known) => {
                            text.push('"');
                            text.push_str(known);
                            text.push_str("\":");
                        }
                        Cow::Owned(ref name) => push_name(&mut text, name),
                    }
                    let start = text.len();
                    text.push_str(value);
                    members.push((key, start..text.len()));
                }
                text.push('}');
                Ok(SiemEvent { text, members })
            }
        }
        d.deserialize_map(Members)
    }
}

/// The lists of events a SIEM API answer holds, under their keys in the body.
pub(crate) const SIEM_LISTS: [&str; 4] = [
    "clicksPermitted",
    "clicksBlocked",
    "messagesDelivered",
    "messagesBlocked",
];

/// An answer of the SIEM API (`/v2/siem/...`): its lists of events, each event a [`TapObject`],
/// read in one pass over the body (a week of answers is tens of MiB; reading each list again,
/// then each event again, tripled the work). A list is found by its key, or failing that by a key
/// that differs in case only; a list that is not an array, and an event that is not an object,
/// count as none. The other members (`queryEndTime`) are not kept.
#[derive(Debug)]
pub(crate) struct SiemAnswer<E = TapObject>([Vec<E>; 4]);

impl<E> SiemAnswer<E> {
    /// Takes out the events of the list `key` (one of [`SIEM_LISTS`]).
    pub(crate) fn take(&mut self, key: &str) -> Vec<E> {
        SIEM_LISTS
            .iter()
            .position(|k| *k == key)
            .map(|i| std::mem::take(&mut self.0[i]))
            .unwrap_or_default()
    }
}

impl<'de, E: Deserialize<'de>> Deserialize<'de> for SiemAnswer<E> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Lists<E>(std::marker::PhantomData<E>);
        impl<'de, E: Deserialize<'de>> Visitor<'de> for Lists<E> {
            type Value = SiemAnswer<E>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SiemAnswer<E>, A::Error> {
                // The first member of each exact key, else the first that differs in case only.
                let mut exact: [Option<Vec<E>>; 4] = Default::default();
                let mut loose: [Option<Vec<E>>; 4] = Default::default();
                while let Some(Name(key)) = map.next_key::<Name<'de>>()? {
                    let slot = match SIEM_LISTS.iter().position(|k| *k == key) {
                        Some(i) => exact[i].is_none().then_some(&mut exact[i]),
                        None => SIEM_LISTS
                            .iter()
                            .position(|k| k.eq_ignore_ascii_case(&key))
                            .filter(|&i| exact[i].is_none() && loose[i].is_none())
                            .map(|i| &mut loose[i]),
                    };
                    match slot {
                        Some(slot) => *slot = Some(map.next_value::<Events<E>>()?.0),
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let lists = std::array::from_fn(|i| {
                    exact[i].take().or(loose[i].take()).unwrap_or_default()
                });
                Ok(SiemAnswer(lists))
            }
        }
        d.deserialize_map(Lists(std::marker::PhantomData))
    }
}

/// The visits of a JSON scalar (null, a boolean, a number, a string) for a visitor that looks for
/// something else: each is `$none`.
macro_rules! none_for_scalars {
    ($none:expr) => {
        fn visit_unit<Er>(self) -> Result<Self::Value, Er> {
            Ok($none)
        }
        fn visit_bool<Er>(self, _: bool) -> Result<Self::Value, Er> {
            Ok($none)
        }
        fn visit_i64<Er>(self, _: i64) -> Result<Self::Value, Er> {
            Ok($none)
        }
        fn visit_u64<Er>(self, _: u64) -> Result<Self::Value, Er> {
            Ok($none)
        }
        fn visit_f64<Er>(self, _: f64) -> Result<Self::Value, Er> {
            Ok($none)
        }
        fn visit_str<Er>(self, _: &str) -> Result<Self::Value, Er> {
            Ok($none)
        }
    };
}

/// A list of events: the objects of an array; anything else is none.
struct Events<E>(Vec<E>);

impl<'de, E: Deserialize<'de>> Deserialize<'de> for Events<E> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct List<E>(std::marker::PhantomData<E>);
        impl<'de, E: Deserialize<'de>> Visitor<'de> for List<E> {
            type Value = Events<E>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of events")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Events<E>, A::Error> {
                let mut events = Vec::new();
                while let Some(event) = seq.next_element::<Event<E>>()? {
                    events.extend(event.0);
                }
                Ok(Events(events))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Events<E>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Events(Vec::new()))
            }
            none_for_scalars!(Events(Vec::new()));
        }
        d.deserialize_any(List(std::marker::PhantomData))
    }
}

/// One element of a list of events: an object, or none.
struct Event<E>(Option<E>);

impl<'de, E: Deserialize<'de>> Deserialize<'de> for Event<E> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct One<E>(std::marker::PhantomData<E>);
        impl<'de, E: Deserialize<'de>> Visitor<'de> for One<E> {
            type Value = Event<E>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Event<E>, A::Error> {
                E::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|o| Event(Some(o)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Event<E>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Event(None))
            }
            none_for_scalars!(Event(None));
        }
        d.deserialize_any(One(std::marker::PhantomData))
    }
}

/// The value of the member `names` of the JSON object `raw`, read without parsing the others
/// (each is skipped as it is read); an exact match first, then one that differs in case only.
pub(crate) fn member_of(raw: &RawValue, names: &[&str]) -> Option<Value> {
    struct Find<'n>(&'n [&'n str]);
    impl<'de> Visitor<'de> for Find<'_> {
        type Value = Option<Value>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut loose = None;
            while let Some(Name(key)) = map.next_key::<Name<'de>>()? {
                if self.0.iter().any(|n| *n == key) {
                    let value = small(map.next_value::<&RawValue>()?);
                    // Keep reading: the map must be read to its end.
                    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    return Ok(value);
                }
                if loose.is_none() && self.0.iter().any(|n| key.eq_ignore_ascii_case(n)) {
                    loose = small(map.next_value::<&RawValue>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(loose)
        }
    }
    /// A member's value, parsed when it is not null and within [`VIEW_LIMIT`].
    fn small(raw: &RawValue) -> Option<Value> {
        (raw.get().len() <= VIEW_LIMIT)
            .then(|| serde_json::from_str(raw.get()).ok())
            .flatten()
            .filter(|v: &Value| !v.is_null())
    }
    let mut de = serde_json::Deserializer::from_str(raw.get());
    serde::Deserializer::deserialize_map(&mut de, Find(names))
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn siem_answers_keep_the_objects_of_their_lists() {
        let text = |events: Vec<TapObject>| serde_json::to_string(&events).unwrap();
        let mut answer: SiemAnswer = serde_json::from_str(
            r#"{"queryEndTime": "t", "ClicksPermitted": [{"id": "loose"}],
                "clicksPermitted": [{"id": 1}, 2, null, [3], {"id": "x\"y"}],
                "clicksPermitted": [{"id": "second"}], "clicksBlocked": {"id": 4},
                "MESSAGESDELIVERED": [{"id": 5}], "messagesBlocked": null, "other": [{}]}"#,
        )
        .unwrap();
        // The exact key wins, its first time; other values than objects are passed over.
        assert_eq!(
            text(answer.take("clicksPermitted")),
            r#"[{"id":1},{"id":"x\"y"}]"#
        );
        assert_eq!(text(answer.take("clicksBlocked")), "[]");
        assert_eq!(text(answer.take("messagesDelivered")), r#"[{"id":5}]"#);
        assert_eq!(text(answer.take("messagesBlocked")), "[]");
        assert_eq!(text(answer.take("clicksPermitted")), "[]", "taken already");
        assert!(serde_json::from_str::<SiemAnswer>("[1]").is_err());
        assert!(serde_json::from_str::<SiemAnswer>(r#"{"clicksPermitted": [{]}"#).is_err());
    }

    #[test]
    fn a_siem_event_is_the_text_its_object_writes() {
        for json in [
            r#"{"id": "a", "GUID": "g", "url": "https://x.example/?a=1&b=\u00e9", "n": 1.50,
                "list": [1, {"k": [true, null]}], "odd \"name\"\n": {"x": 1}, "event_type": 3,
                "Event_Type": "kept", "event_type": "second"}"#,
            r#"{"clickTime": "t"}"#,
            r#"{}"#,
        ] {
            let object: TapObject = serde_json::from_str(json).unwrap();
            let event: SiemEvent = serde_json::from_str(json).unwrap();
            assert_eq!(event.text(), serde_json::to_string(&object).unwrap());
            assert_eq!(event.text_of(&["id"]), object.text_of(&["id"]));
            assert_eq!(event.text_of(&["guid"]), object.text_of(&["guid"]));
            let mut tagged = object.clone();
            tagged.insert("event_type", &"clicks_permitted");
            assert_eq!(
                serde_json::to_string(&event.to_object()).unwrap(),
                event.text()
            );
            let event = event.tagged("event_type", r#""clicks_permitted""#);
            assert_eq!(event.text(), serde_json::to_string(&tagged).unwrap());
            // Where the members are follows the change.
            let members: Vec<(String, String)> = event
                .members()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let again: SiemEvent = serde_json::from_str(event.text()).unwrap();
            let read: Vec<(String, String)> = again
                .members()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            assert_eq!(members, read);
            assert_eq!(event.text().len(), event.into_text().len());
        }
        let event: SiemEvent = serde_json::from_str(
            r#"{"URL": "loose", "threatId": "b", "threatID": "a", "x": null}"#,
        )
        .unwrap();
        assert_eq!(
            event.pick(&[&["url"], &["threatID", "threatId"], &["x"], &["none"]]),
            [Some(r#""loose""#), Some(r#""a""#), None, None]
        );
        let threats = objects_in(r#"[{"threat": "t", "THREAT": "u"}, 1, [2], {"Threat": "v"}]"#);
        assert_eq!(threats.len(), 2);
        assert_eq!(pick_in(&threats[0], &[&["threat"]]), [Some(r#""t""#)]);
        assert_eq!(pick_in(&threats[1], &[&["threat"]]), [Some(r#""v""#)]);
        assert!(objects_in(r#"{"threat": "t"}"#).is_empty());
    }

    #[test]
    fn known_names_are_borrowed() {
        assert!(
            KNOWN_NAMES.windows(2).all(|w| w[0] < w[1]),
            "in order, once each"
        );
        let borrowed = KNOWN_NAMES
            .iter()
            .filter(|n| matches!(key_of(Cow::Borrowed(n)), Cow::Borrowed(_)))
            .count();
        assert_eq!(borrowed, KNOWN_NAMES.len(), "two known names share a slot");
        for name in ["guid", "GUIDs", "", "u", "threatsinfomap"] {
            assert!(
                matches!(key_of(Cow::Borrowed(name)), Cow::Owned(_)),
                "{name}"
            );
            assert_eq!(key_of(Cow::Borrowed(name)), name);
        }
    }

    #[test]
    fn members_stay_raw_until_read() {
        let mut o: TapObject =
            serde_json::from_str(r#"{"Name": "n", "big": [1, 2.50, {"x": null}], "nul": null}"#)
                .unwrap();
        assert_eq!(o.raw(&["name"]).map(RawValue::get), Some(r#""n""#));
        assert!(o.raw(&["nul"]).is_none());
        assert_eq!(o.view(&["name", "missing"]).len(), 1);
        o.insert("big", &serde_json::json!({"replaced": true}));
        o.insert("added", &1);
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"Name":"n","big":{"replaced":true},"nul":null,"added":1}"#
        );
        let raw: Box<RawValue> =
            serde_json::from_str(r#"{"Type": "url", "type": "file", "what": {}}"#).unwrap();
        assert_eq!(member_of(&raw, &["type"]), Some(serde_json::json!("file")));
        let raw: Box<RawValue> = serde_json::from_str(r#"{"TYPE": "url"}"#).unwrap();
        assert_eq!(member_of(&raw, &["type"]), Some(serde_json::json!("url")));
    }
}
