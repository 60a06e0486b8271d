//! Decode URL through the real binary: offline decoding, and the TAP decode API on a local stub.

use crate::common::*;
use serde_json::{json, Value};
use wiremock::matchers::{basic_auth, body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const V3_DOC: &str = "https://urldefense.com/v3/__https://google.com:443/search?q=a*test&gs=ps__;Kw!-612Flbf0JvQ3kNJkRi5Jg!Ue6tQudNKaShHg93trcdjqDP8se2ySE65jyCIe2K1D_uNjZ1Lnf6YLQERujngZv9UWf66ujQIQ$";
const V2_DOC: &str = "https://urldefense.proofpoint.com/v2/url?u=https-3A__media.mnn.com_assets_images_2016_06_jupiter-2Dnasa.jpg.638x0-5Fq80-5Fcrop-2Dsmart.jpg&amp;d=DwMBaQ&amp;c=Vxt5e0Osvvt2gflwSlsJ5DmPGcPvTRKLJyp031rXjhg&amp;r=BTD8MPjq1qSLi0tGKaB5H6aCJZZBjwYkLyorZdRQrnY&amp;m=iKjixvaJuqvmReS78AB0JiActTrR_liSq7lDRjEQ9DE&amp;s=-M8Vz-GV-kqkNVf1BAtv38DdudAHVDAI6_jQQLVmleE&amp;e=";
const V1_DOC: &str = "https://urldefense.proofpoint.com/v1/url?u=http://www.bouncycastle.org/&amp;k=oIvRg1%2BdGAgOoM1BIlLLqw%3D%3D%0A&amp;r=IKM5u8%2B%2F%2Fi8EBhWOS%2BqGbTqCC%2BrMqWI%2FVfEAEsQO%2F0Y%3D%0A&amp;m=Ww6iaHO73mDQpPQwOwfLfN8WMapqHyvtu8jM8SjqmVQ%3D%0A&amp;s=d3583cfa53dade97025bc6274c6c8951dc29fe0f38830cf8e5a447723b9f1c9a";
/// On a URL Defense host, in a form the local decoder does not know: only the API can help.
const V4_UNKNOWN: &str = "https://urldefense.com/v4/__https://future.example/__;!!o!s$";
const TRUNCATED_V3: &str = "https://urldefense.com/v3/__https://cut.example/pa";

fn url_entity(url: &str) -> Value {
    json!({"identifier": url.to_uppercase(), "entity_type": "DestinationURL",
           "additional_properties": {"OriginalIdentifier": url}})
}

fn request(entities: Vec<Value>, parameters: Value, configuration: Value) -> Value {
    json!({"action": "ProofPointTAP_DecodeURL", "case_id": "77", "alert_group_identifiers": ["G1"],
           "target_entities": entities, "parameters": parameters, "configuration": configuration})
}

#[tokio::test]
async fn local_decoding_of_every_version() {
    // The entity and the parameter string share the v3 URL: it is decoded once. The v2 URL holds
    // commas, and the string is split only before "https://".
    let params =
        json!({"Encoded URLs": format!("{V3_DOC}, {V2_DOC},\n{V1_DOC}"), "Decode Mode": "Local"});
    let entities = vec![
        url_entity(V3_DOC),
        json!({"identifier": "bob@example.com", "entity_type": "USERUNIQNAME"}),
    ];
    let run = run(&request(entities, params, json!({}))).await;
    assert_eq!(run.code, 0);
    assert_eq!(run.envelope["json_result"].as_array().unwrap().len(), 3);
    assert_eq!(run.envelope["metrics"]["http_requests"], 0);
    assert_envelope!("decode_local", run);
}

#[tokio::test]
async fn local_mode_never_connects_even_with_credentials() {
    let params = json!({"encoded_urls": [V3_DOC, TRUNCATED_V3], "decode_mode": "local"});
    // Nothing listens on port 1: a connection attempt would show as http_requests > 0.
    let run = run(&request(vec![], params, config("http://127.0.0.1:1"))).await;
    assert_eq!(run.envelope["metrics"]["http_requests"], 0);
    assert_eq!(run.envelope["errors"][0]["subject"], TRUNCATED_V3);
    assert_eq!(run.envelope["result_value"], true);
}

#[tokio::test]
async fn partial_failure_names_each_url_and_why() {
    let params = json!({"encoded_urls": [V2_DOC, "https://example.com/plain,link", TRUNCATED_V3], "create_url_entities": "false"});
    let run = run(&request(vec![], params, json!({}))).await;
    assert_eq!(run.code, 0);
    assert!(run.envelope["entities"].as_array().unwrap().is_empty());
    assert_envelope!("decode_partial_failure", run);
}

#[tokio::test]
async fn nothing_decoded() {
    let params = json!({"encoded_urls": "https://example.com/a"});
    let run = run(&request(vec![url_entity(TRUNCATED_V3)], params, json!({}))).await;
    assert_eq!(run.code, 0);
    assert_eq!(run.envelope["result_value"], false);
    assert_envelope!("decode_nothing_decoded", run);
}

#[tokio::test]
async fn no_input() {
    let entities = vec![json!({"identifier": "bob@example.com", "entity_type": "USERUNIQNAME"})];
    let run = run(&request(entities, json!({"encoded_urls": " "}), json!({}))).await;
    assert_eq!(run.code, 0);
    assert_envelope!("decode_no_input", run);
}

#[tokio::test]
async fn auto_sends_only_what_local_decoding_left() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/url/decode"))
        .and(basic_auth(PRINCIPAL, SECRET))
        .and(body_json(json!({"urls": [V4_UNKNOWN]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"urls": [
            {"encodedUrl": V4_UNKNOWN, "decodedUrl": "https://future.example/", "success": true,
             "messageGuid": "guid-1", "clusterName": "cluster-a"}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    // The plain URL is not URL Defense: asking the API would only spend quota.
    let params = json!({"encoded_urls": [V2_DOC, V4_UNKNOWN, "https://example.com/plain"]});
    let run = run(&request(
        vec![url_entity(V4_UNKNOWN)],
        params,
        config(&server.uri()),
    ))
    .await;
    assert_eq!(run.code, 0);
    assert_eq!(run.envelope["metrics"]["http_requests"], 1);
    assert_envelope!("decode_auto", run);
}

#[tokio::test]
async fn auto_without_credentials_stays_offline() {
    let params = json!({"encoded_urls": [V4_UNKNOWN]});
    let run = run(&request(
        vec![],
        params,
        json!({"api_root": "http://127.0.0.1:1"}),
    ))
    .await;
    assert_eq!(run.envelope["metrics"]["http_requests"], 0);
    assert_eq!(run.envelope["errors"][0]["code"], "decode_failed");
}

#[tokio::test]
async fn api_mode_sends_everything_and_maps_per_item_failures() {
    let answer: Value =
        serde_json::from_str(include_str!("../fixtures/url_decode_partial_failure.json")).unwrap();
    let sent: Vec<Value> = answer["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["encodedUrl"].clone())
        .collect();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/url/decode"))
        .and(body_json(json!({"urls": sent})))
        .respond_with(ResponseTemplate::new(200).set_body_json(&answer))
        .expect(1)
        .mount(&server)
        .await;
    let run = run(&request(
        vec![],
        json!({"encoded_urls": sent, "decode_mode": "api"}),
        config(&server.uri()),
    ))
    .await;
    assert_eq!(run.code, 0);
    assert_envelope!("decode_api_partial", run);
}

#[tokio::test]
async fn api_mode_success_from_the_sample() {
    let answer: Value =
        serde_json::from_str(include_str!("../fixtures/url_decode_success.json")).unwrap();
    let sent: Vec<Value> = answer["urls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["encodedUrl"].clone())
        .collect();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/url/decode"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&answer))
        .expect(1)
        .mount(&server)
        .await;
    let run = run(&request(
        vec![],
        json!({"encoded_urls": sent, "decode_mode": "api"}),
        config(&server.uri()),
    ))
    .await;
    assert_eq!(run.code, 0);
    assert_envelope!("decode_api", run);
}

#[tokio::test]
async fn api_mode_unauthorized_fails_the_action() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/url/decode"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let run = run(&request(
        vec![],
        json!({"encoded_urls": [V3_DOC], "decode_mode": "api"}),
        config(&server.uri()),
    ))
    .await;
    assert_eq!(run.code, 1);
    assert_no_secret(&run);
    assert_envelope!("decode_api_unauthorized", run);
}

#[tokio::test]
async fn invalid_decode_mode() {
    let run = run(&request(
        vec![],
        json!({"encoded_urls": [V3_DOC], "decode_mode": "remote"}),
        json!({}),
    ))
    .await;
    assert_eq!(run.code, 1);
    assert_envelope!("decode_invalid_mode", run);
}

#[tokio::test]
async fn thousands_of_urls_keep_input_order_across_threads() {
    use proofpoint_tap::unwrap::encode;
    // More URLs than the threshold for decoding on several threads, with failures and duplicates
    // spread through them: every result must still line up with its own input.
    let mut urls = Vec::new();
    let mut expected = Vec::new();
    let mut failed = Vec::new();
    for i in 0..6_000 {
        let original = format!("https://host{}.example/p/{i}?q=caf\u{e9}+{i}", i % 13);
        let encoded = match i % 4 {
            0 => encode::v1(&original),
            1 => encode::v2(&original),
            2 => encode::v3(&original),
            _ => {
                let cut = format!("https://urldefense.com/v3/__https://cut{i}.example/");
                failed.push(cut.clone());
                urls.push(cut);
                continue;
            }
        };
        expected.push((encoded.clone(), original));
        urls.push(encoded);
        if i % 500 == 0 {
            urls.push(urls[i / 2].clone()); // an earlier URL again: dropped
        }
    }
    let params = json!({"encoded_urls": urls, "decode_mode": "local"});
    let run = run(&request(vec![], params, json!({}))).await;
    assert_eq!(run.code, 0);
    let items = run.envelope["json_result"].as_array().unwrap();
    let got: Vec<(&str, &str)> = items
        .iter()
        .map(|d| {
            (
                d["encodedUrl"].as_str().unwrap(),
                d["decodedUrl"].as_str().unwrap(),
            )
        })
        .collect();
    let want: Vec<(&str, &str)> = expected
        .iter()
        .map(|(e, d)| (e.as_str(), d.as_str()))
        .collect();
    assert_eq!(got, want);
    let subjects: Vec<&str> = run.envelope["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, failed);
    assert_eq!(
        run.envelope["entities"].as_array().unwrap().len(),
        expected.len()
    );
}

/// A decode API stub that answers every URL it is sent, in order, with a decoding it can check:
/// the URL with `#api` appended.
struct EchoDecoder;

impl wiremock::Respond for EchoDecoder {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let urls: Vec<Value> = body["urls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| json!({"encodedUrl": u, "decodedUrl": format!("{}#api", u.as_str().unwrap()), "success": true}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({ "urls": urls }))
    }
}

#[tokio::test]
async fn api_answers_land_in_place_among_thousands_of_local_results() {
    use proofpoint_tap::unwrap::encode;
    // Every third URL is in a form only the API reads; they are spread over several chunks of the
    // local decoding and several API calls, and each answer must land at its own URL's place.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/url/decode"))
        .respond_with(EchoDecoder)
        .mount(&server)
        .await;
    let mut urls = Vec::new();
    let mut expected = Vec::new();
    for i in 0..5_000 {
        if i % 3 == 0 {
            let url = format!("https://urldefense.com/v4/__https://future{i}.example/__;!!o!s$");
            expected.push((url.clone(), format!("{url}#api"), "api"));
            urls.push(url);
        } else {
            let original = format!("https://host.example/{i}");
            let url = encode::v3(&original);
            expected.push((url.clone(), original, "local"));
            urls.push(url);
        }
    }
    let params = json!({"encoded_urls": urls, "create_url_entities": false});
    let run = run(&request(vec![], params, config(&server.uri()))).await;
    assert_eq!(run.code, 0);
    let got: Vec<(String, String, String)> = run.envelope["json_result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let text = |k: &str| d[k].as_str().unwrap().to_owned();
            (text("encodedUrl"), text("decodedUrl"), text("source"))
        })
        .collect();
    let want: Vec<(String, String, String)> = expected
        .into_iter()
        .map(|(e, d, s)| (e, d, s.to_owned()))
        .collect();
    assert_eq!(got, want);
    // 1 667 URLs for the API, at most 200 per call.
    assert_eq!(run.envelope["metrics"]["http_requests"], 9);
    assert!(run.envelope["errors"].as_array().unwrap().is_empty());
}

const MIMECAST: &str =
    "https://protect-us.mimecast.com/s/Dq2tCqx82YfMWNPOFZubbx?domain=way2automation.com";

#[tokio::test]
async fn other_vendors_wrappers_come_off_in_any_order() {
    use proofpoint_tap::unwrap::encode::{v3, wrap};
    use proofpoint_tap::unwrap::Layer;
    let target = "https://intranet.example/report?id=7&lang=en#top";
    let layered = |layers: &[Layer]| {
        layers
            .iter()
            .rev()
            .fold(target.to_owned(), |url, &l| wrap(l, &url).unwrap())
    };
    let urls = [
        // FireEye around v3 around Safe Links, and Cisco → Sophos → Barracuda, as seen in mail.
        layered(&[Layer::FireEye, Layer::UrlDefenseV3, Layer::SafeLinks]),
        layered(&[Layer::Cisco, Layer::Sophos, Layer::Barracuda]),
        MIMECAST.to_owned(),
        // Upper-cased by the platform, with no OriginalIdentifier to go back to.
        v3("https://intranet.example/Report").to_uppercase(),
    ];
    let params = json!({"encoded_urls": urls, "decode_mode": "local"});
    let run = run(&request(vec![], params, json!({}))).await;
    assert_eq!(run.code, 0);
    let items = run.envelope["json_result"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["decodedUrl"] == target));
    assert_eq!(
        items[0]["layers"],
        json!(["fireeye", "urldefense_v3", "safelinks"])
    );
    assert_eq!(run.envelope["errors"][0]["code"], "not_decodable_offline");
    assert_eq!(run.envelope["errors"][1]["code"], "decode_failed");
    assert_envelope!("decode_wrappers", run);
}

#[tokio::test]
async fn only_url_defense_links_go_to_the_api() {
    use proofpoint_tap::unwrap::encode::wrap;
    use proofpoint_tap::unwrap::Layer;
    let final_target = "https://final.example/landing";
    let server = MockServer::start().await;
    // The URL Defense link found inside FireEye is all the API is sent; what it answers is itself
    // a Safe Links URL, which comes off offline.
    Mock::given(method("POST"))
        .and(path("/v2/url/decode"))
        .and(body_json(json!({"urls": [V4_UNKNOWN]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"urls": [
            {"encodedUrl": V4_UNKNOWN, "decodedUrl": wrap(Layer::SafeLinks, final_target).unwrap(),
             "success": true}
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let urls = [
        wrap(Layer::FireEye, V4_UNKNOWN).unwrap(),
        wrap(Layer::SafeLinks, "https://plain.example/").unwrap(),
        MIMECAST.to_owned(),
    ];
    let params = json!({"encoded_urls": urls, "decode_mode": "api", "create_url_entities": false});
    let run = run(&request(vec![], params, config(&server.uri()))).await;
    assert_eq!(run.code, 0);
    assert_eq!(run.envelope["metrics"]["http_requests"], 1);
    let items = run.envelope["json_result"].as_array().unwrap();
    assert_eq!(items[0]["decodedUrl"], final_target);
    assert_eq!(
        items[0]["layers"],
        json!(["fireeye", "urldefense", "safelinks"])
    );
    assert_eq!(items[1]["source"], "local");
    assert_envelope!("decode_api_wrappers", run);
}
