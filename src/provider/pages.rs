//! The one paginator for every provider's lists: the loop, its bound and its error are here;
//! each provider gives only its page rule (Bridge's cursor, IONOS's offset, Launcher's page
//! number), which reads one answer into its items and the query of the next page.

use reqwest::{Method, Url};

use super::http::{req, ApiError, Retry, Transport};

/// The most pages one list is followed for: past it the API is taken to loop.
pub const MAX_PAGES: usize = 1000;

/// A page's query: what [`Transport::send`] takes.
pub type Query = Vec<(&'static str, String)>;

/// One page as a provider's rule reads it.
pub struct Page<T> {
    pub items: Vec<T>,
    /// The query of the next page; `None`: this was the last.
    pub next: Option<Query>,
}

/// Every item of the list at `path`: asks for `first`, then for each page's `next`, until a
/// page has none. More than [`MAX_PAGES`] pages is an error, as is any page the rule refuses.
pub async fn all<T>(
    t: &Transport,
    path: &str,
    first: Query,
    mut rule: impl FnMut(&Url, &str) -> Result<Page<T>, ApiError>,
) -> Result<Vec<T>, ApiError> {
    let mut items = Vec::new();
    let mut query = first;
    for _ in 0..MAX_PAGES {
        let (url, body) = t.send(Method::GET, path, &query, Retry::Read).await?;
        let page = rule(&url, &body)?;
        items.extend(page.items);
        match page.next {
            Some(next) => query = next,
            None => return Ok(items),
        }
    }
    Err(ApiError::Malformed {
        req: req(&Method::GET, &t.url(path)),
        detail: format!("more than {MAX_PAGES} pages; bridgerest stops there"),
    })
}
