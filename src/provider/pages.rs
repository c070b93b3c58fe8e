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
    mut rule: impl FnMut(&Url, &str) -> Result<Page<T>, ApiError>,
) -> Result<Vec<T>, ApiError> {
    let mut items = Vec::new();
    let mut query = first;
    let mut bytes = 0usize;
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
        if items.len() + page.items.len() > MAX_ITEMS {
            return Err(too_long(format!(
                "the list has over {MAX_ITEMS} items in {n} pages; bridgerest stops there"
            )));
        }
        items.extend(page.items);
        match page.next {
            Some(next) => query = next,
            None => return Ok(items),
        }
    }
    Err(too_long(format!(
        "more than {MAX_PAGES} pages; bridgerest stops there"
    )))
}
