//! The TAP API client (SPEC §5): one method per endpoint. How a request is sent, retried and
//! mapped to an error lives in [`transport`]; the answers the runner reads into are in [`types`].
//! Everything else TAP sends passes through as it came.

mod redact;
mod transport;
mod types;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use reqwest::Method;
use serde::Serialize;
use tokio::time::Instant;

use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
pub(crate) use transport::parse_json;
use transport::Transport;
pub(crate) use types::{
    member_of, objects_in, pick_in, DecodeResponse, DecodedItem, SiemAnswer, SiemEvent, TapObject,
    VIEW_BUDGET,
};

/// The campaign id Ping asks for: all zeros, so TAP answers 404 after checking the credentials.
const PING_CAMPAIGN_ID: &str = "00000000-0000-0000-0000-000000000000";

/// A client for one run.
#[derive(Debug)]
pub(crate) struct TapClient {
    transport: Transport,
}

impl TapClient {
    /// Builds the client from the configuration. `deadline` is when work must stop (the platform's
    /// deadline less the margin); `requests` counts every HTTP request sent.
    pub(crate) fn new(
        config: &Config,
        deadline: Option<Instant>,
        requests: Arc<AtomicU64>,
    ) -> Result<Self> {
        Ok(TapClient {
            transport: Transport::new(config, deadline, requests)?,
        })
    }

    /// This endpoint has no daily quota.
    pub(crate) async fn ping(&self) -> Result<()> {
        match self
            .transport
            .get(&["v2", "campaign", PING_CAMPAIGN_ID], &[])
            .await
        {
            // A 2xx that is not JSON is not TAP (a captive portal, a proxy's page).
            Ok(body) => parse_json::<serde::de::IgnoredAny>(&body).map(drop),
            Err(e) if e.code == ErrorCode::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `GET /v2/campaign/{id}`: the campaign exactly as TAP sent it.
    pub(crate) async fn campaign(&self, id: &str) -> Result<TapObject> {
        let body = self.transport.get(&["v2", "campaign", id], &[]).await?;
        self.transport.parse(body).await
    }

    /// `GET /v2/threat/summary/{id}`: what TAP knows of one threat (documented as not throttled).
    pub(crate) async fn threat_summary(&self, id: &str) -> Result<TapObject> {
        let body = self
            .transport
            .get(&["v2", "threat", "summary", id], &[])
            .await?;
        self.transport.parse(body).await
    }

    /// `GET /v2/forensics?campaignId={id}`.
    pub(crate) async fn campaign_forensics(&self, id: &str) -> Result<TapObject> {
        let body = self
            .transport
            .get(&["v2", "forensics"], &[("campaignId", id)])
            .await?;
        self.transport.parse(body).await
    }

    /// `GET /v2/forensics?threatId={id}[&includeCampaignForensics=true]`.
    pub(crate) async fn threat_forensics(
        &self,
        id: &str,
        include_campaign: bool,
    ) -> Result<TapObject> {
        let mut query = vec![("threatId", id)];
        if include_campaign {
            query.push(("includeCampaignForensics", "true"));
        }
        let body = self.transport.get(&["v2", "forensics"], &query).await?;
        self.transport.parse(body).await
    }

    /// `GET /v2/campaign/ids?interval={start}/{end}&size=&page=` (50 calls a day). A 404 means no
    /// campaign in the interval and is answered as an empty list.
    pub(crate) async fn campaign_ids(
        &self,
        interval: &str,
        size: usize,
        page: usize,
    ) -> Result<TapObject> {
        let (size, page) = (size.to_string(), page.to_string());
        let query = [("interval", interval), ("size", &size), ("page", &page)];
        match self.transport.get(&["v2", "campaign", "ids"], &query).await {
            Ok(body) => self.transport.parse(body).await,
            Err(e) if e.code == ErrorCode::NotFound => Ok(TapObject::default()),
            Err(e) => Err(e),
        }
    }

    /// `GET /v2/people/{vap|top-clickers}?window=&size=&page=`.
    pub(crate) async fn people(
        &self,
        list: &str,
        window: u32,
        size: usize,
        page: usize,
    ) -> Result<TapObject> {
        let (window, size, page) = (window.to_string(), size.to_string(), page.to_string());
        let query = [
            ("window", window.as_str()),
            ("size", &size),
            ("page", &page),
        ];
        let body = self.transport.get(&["v2", "people", list], &query).await?;
        self.transport.parse(body).await
    }

    /// `GET /v2/siem/{endpoint}?interval={start}/{end}&format=json` with `threatStatus` and
    /// `threatType` repeated for each value. Each call counts against a 1 800-a-day quota.
    pub(crate) async fn siem(
        &self,
        endpoint: &[&str],
        interval: &str,
        statuses: &[&str],
        types: &[&str],
    ) -> Result<SiemAnswer> {
        let body = self.siem_body(endpoint, interval, statuses, types).await?;
        self.transport.parse(body).await
    }

    /// [`TapClient::siem`]'s body, not yet read ([`parse_json`] reads it): so that a caller can
    /// free the call's slot before reading a big answer.
    pub(crate) async fn siem_body(
        &self,
        endpoint: &[&str],
        interval: &str,
        statuses: &[&str],
        types: &[&str],
    ) -> Result<Vec<u8>> {
        let mut segments = vec!["v2", "siem"];
        segments.extend_from_slice(endpoint);
        let mut query = vec![("interval", interval), ("format", "json")];
        query.extend(statuses.iter().map(|s| ("threatStatus", *s)));
        query.extend(types.iter().map(|t| ("threatType", *t)));
        self.transport.get(&segments, &query).await
    }

    /// `POST /v2/url/decode` with `{"urls": [...]}`. Counts against the 1 800-a-day quota.
    pub(crate) async fn decode_urls(&self, urls: &[String]) -> Result<DecodeResponse> {
        #[derive(Serialize)]
        struct Body<'a> {
            urls: &'a [String],
        }
        let body = serde_json::to_vec(&Body { urls }).map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("could not encode the request: {e}"),
            )
        })?;
        let url = self.transport.url(&["v2", "url", "decode"], &[])?;
        let answer = self.transport.send(Method::POST, url, Some(body)).await?;
        let mut answer: DecodeResponse = parse_json(&answer)?;
        // Its texts are quoted into messages and results: no credential may ride along.
        let redactor = self.transport.redactor();
        for item in &mut answer.urls {
            for text in [&mut item.error, &mut item.decoded_url]
                .into_iter()
                .flatten()
            {
                *text = redactor.redact(text);
            }
        }
        Ok(answer)
    }
}
