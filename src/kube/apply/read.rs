//! Reading live state: one paged LIST per kind and namespace from
//! `LIST_THRESHOLD` objects on, else one GET each, `concurrency()` in
//! flight. Each object is decided as its live state arrives, and the live
//! object is dropped then unless `keep_live`, so a bulk task holds one LIST
//! page at a time.

use super::locate::Item;
use super::{Decided, Options, concurrency, decide, describe};
use crate::error::Result;
use crate::kube::read;
use futures::{StreamExt, stream};
use kube::core::params::ListParams;
use serde_json::Value;
use std::collections::HashMap;

/// A task reads with one LIST per kind and namespace from this many objects on.
const LIST_THRESHOLD: usize = 4;

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
        let what = || format!("list {plural}");
        read::list_pages(client, &url, &ListParams::default(), &what, |page| {
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
    read::get_object(
        client,
        &item.resource,
        item.namespace.as_deref(),
        &item.name,
        &what,
    )
    .await
}
