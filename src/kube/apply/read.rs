//! Reading live state: one paged LIST per kind and namespace from
//! `LIST_THRESHOLD` objects on, else one GET each, `concurrency()` in
//! flight. Each object is decided as its live state arrives, and the live
//! object is dropped then unless `keep_live`, so a bulk task holds one LIST
//! page at a time.

use super::locate::Item;
use super::{Decided, Options, concurrency, decide, describe};
use crate::error::{Error, Result};
use crate::kube::request::{api_error, is_not_found, send, unbuildable};
use futures::{StreamExt, stream};
use kube::core::Request;
use kube::core::params::{GetParams, ListParams};
use serde_json::Value;
use std::collections::HashMap;

/// A task reads with one LIST per kind and namespace from this many objects on.
const LIST_THRESHOLD: usize = 4;
/// Objects per LIST page: bounds what a bulk task holds while deciding.
const LIST_PAGE: u32 = 250;

pub(super) async fn read_and_decide(
    client: &kube::Client,
    items: Vec<Item>,
    opts: &Options,
) -> Result<Vec<Decided>> {
    let mut groups: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        groups
            .entry(it.resource.collection_url(it.namespace.as_deref()))
            .or_default()
            .push(i);
    }
    let mut slots: Vec<Option<Decided>> = Vec::with_capacity(items.len());
    slots.resize_with(items.len(), || None);
    let mut items: Vec<Option<Item>> = items.into_iter().map(Some).collect();
    let mut single = Vec::new();
    for (url, members) in groups {
        if members.len() < LIST_THRESHOLD {
            single.extend(members);
            continue;
        }
        let mut plural = String::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for &i in &members {
            if let Some(it) = &items[i] {
                plural.clone_from(&it.resource.plural);
                by_name.entry(it.name.clone()).or_default().push(i);
            }
        }
        let mut found = |live: Option<&Value>, idx: &[usize], items: &mut [Option<Item>]| {
            for &i in idx {
                if let Some(item) = items[i].take() {
                    slots[i] = Some(decide::decided(item, live, opts));
                }
            }
        };
        list_pages(client, &url, &plural, |page| {
            for obj in page {
                let name = obj["metadata"]["name"].as_str().unwrap_or_default();
                if let Some(idx) = by_name.remove(name) {
                    found(Some(&obj), &idx, &mut items);
                }
            }
        })
        .await?;
        // Not in the LIST (or the kind's CRD comes with this task): absent.
        for idx in by_name.into_values() {
            found(None, &idx, &mut items);
        }
    }

    let gets = stream::iter(
        single
            .into_iter()
            .filter_map(|i| items[i].take().map(|item| (i, item)))
            .map(|(i, item)| async move {
                let live = get(client, &item).await?;
                Ok((i, decide::decided(item, live.as_ref(), opts)))
            }),
    )
    .buffered(concurrency())
    .collect::<Vec<Result<(usize, Decided)>>>()
    .await;
    for g in gets {
        let (i, d) = g?;
        slots[i] = Some(d);
    }
    // Every slot was filled by a LIST or a GET above.
    Ok(slots.into_iter().flatten().collect())
}

async fn get(client: &kube::Client, item: &Item) -> Result<Option<Value>> {
    let what = || format!("read {}", describe(item));
    let req = Request::new(item.resource.collection_url(item.namespace.as_deref()))
        .get(&item.name, &GetParams::default())
        .map_err(|e| unbuildable(&what(), e))?;
    match send(client, req).await {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::api(what(), e.to_string(), None)),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(api_error(what(), e)),
    }
}

/// LISTs `url` page by page, handing each page's items to `each`. A kind
/// not served yet (its CRD comes earlier in this task, in check mode) lists
/// nothing.
async fn list_pages(
    client: &kube::Client,
    url: &str,
    plural: &str,
    mut each: impl FnMut(Vec<Value>),
) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct Page {
        #[serde(default)]
        items: Vec<Value>,
        #[serde(default)]
        metadata: PageMeta,
    }
    #[derive(serde::Deserialize, Default)]
    struct PageMeta {
        #[serde(rename = "continue", default)]
        next: Option<String>,
    }
    let what = || format!("list {plural}");
    let mut params = ListParams::default().limit(LIST_PAGE);
    loop {
        let req = Request::new(url)
            .list(&params)
            .map_err(|e| unbuildable(&what(), e))?;
        let page: Page = match send(client, req).await {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|e| Error::api(what(), e.to_string(), None))?
            }
            Err(e) if is_not_found(&e) => return Ok(()),
            Err(e) => return Err(api_error(what(), e)),
        };
        each(page.items);
        match page.metadata.next.filter(|t| !t.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(()),
        }
    }
}
