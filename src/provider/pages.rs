//! The one paginator for every provider's lists: the loop, its bound and its error are here;
//! each provider gives only its page rule (Bridge's cursor, IONOS's offset, Launcher's page
//! number), which reads one answer into its items and the query of the next page.

use reqwest::{Method, Url};

use super::http::{req, ApiError, Retry, Transport};

/// The most pages one list is followed for: past it the API is taken to loop.
pub const MAX_PAGES: usize = 1000;

/// The most bytes of answers one list is followed for, across its pages: an item costs
/// several times its size once decoded, so the bound is on what comes in.
pub const MAX_LIST_BYTES: usize = 16 << 20;
/// The most items one list may have, across its pages.
pub const MAX_ITEMS: usize = 50_000;

/// A page's query: what [`Transport::send`] takes.
pub type Query = Vec<(&'static str, String)>;

/// One page as a provider's rule reads it.
pub struct Page<T> {
    pub items: Vec<T>,
    /// The query of the next page; `None`: this was the last.
    pub next: Option<Query>,
}

/// Every item of the list at `path`: asks for `first`, then for each page's `next`, until a
/// page has none. More than [`MAX_PAGES`] pages, [`MAX_LIST_BYTES`] of answers or
/// [`MAX_ITEMS`] items is an error (each page is decoded and dropped before the next is asked
/// for), as is any page the rule refuses.
pub async fn all<T>(
    t: &Transport,
    path: &str,
    first: Query,
    rule: impl FnMut(&Url, &str) -> Result<Page<T>, ApiError>,
) -> Result<Vec<T>, ApiError> {
    fold(t, path, first, rule, Vec::new(), |mut items, item| {
        items.push(item);
        Ok(items)
    })
    .await
}

/// The list at `path` folded into `acc` item by item as each page arrives, under the bounds
/// of [`all`]: a caller that needs one figure of the list (the newest backup) keeps that
/// figure, never the list. `step` may refuse an item.
pub async fn fold<T, A>(
    t: &Transport,
    path: &str,
    first: Query,
    mut rule: impl FnMut(&Url, &str) -> Result<Page<T>, ApiError>,
    mut acc: A,
    mut step: impl FnMut(A, T) -> Result<A, ApiError>,
) -> Result<A, ApiError> {
    let mut query = first;
    let (mut bytes, mut count) = (0usize, 0usize);
    let too_long = |detail: String| ApiError::Malformed {
        req: req(&Method::GET, &t.url(path)),
        detail,
    };
    for n in 1..=MAX_PAGES {
        let (url, body) = t.send(Method::GET, path, &query, Retry::Read).await?;
        bytes += body.len();
        if bytes > MAX_LIST_BYTES {
            return Err(too_long(format!(
                "the list is over {} in {n} pages; bridgerest stops there",
                crate::text::human_size(MAX_LIST_BYTES as u64)
            )));
        }
        let page = rule(&url, &body)?;
        drop(body);
        count += page.items.len();
        if count > MAX_ITEMS {
            return Err(too_long(format!(
                "the list has over {MAX_ITEMS} items in {n} pages; bridgerest stops there"
            )));
        }
        for item in page.items {
            acc = step(acc, item)?;
        }
        match page.next {
            Some(next) => query = next,
            None => return Ok(acc),
        }
    }
    Err(too_long(format!(
        "more than {MAX_PAGES} pages; bridgerest stops there"
    )))
}
