//! Crunchy Bridge's cursor pages (`cursor`, `limit` 1..100, `order`, `order_field`; answers
//! with `has_more` and `next_cursor`), for every list the simulator serves in Bridge's shape.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::error;

/// One page of a cursor-paginated list, as JSON (`field`, `has_more`, `next_cursor`), or the
/// 400 answer for bad query parameters.
pub(crate) fn page_json(
    mut items: Vec<Value>,
    q: &BTreeMap<String, String>,
    field: &str,
    fields: &[&str],
    default_field: &str,
) -> Result<Value, Box<Response>> {
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(l)) if (1..=100).contains(&l) => l,
        _ => {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "limit must be an integer between 1 and 100.",
            )))
        }
    };
    let order_field = q
        .get("order_field")
        .map(String::as_str)
        .unwrap_or(default_field);
    if !fields.contains(&order_field) {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            &format!("order_field must be one of: {}.", fields.join(", ")),
        )));
    }
    let key = |v: &Value| {
        v.get(order_field)
            .and_then(|x| x.as_str())
            .unwrap_or("")
            .to_string()
    };
    items.sort_by_key(key);
    match q.get("order").map(String::as_str) {
        None | Some("asc") => {}
        Some("desc") => items.reverse(),
        Some(_) => {
            return Err(Box::new(error(
                StatusCode::BAD_REQUEST,
                "order must be asc or desc.",
            )))
        }
    }
    let start = match q.get("cursor") {
        None => 0,
        Some(c) => match items.iter().position(|v| &key(v) == c) {
            Some(p) => p + 1,
            None => return Err(Box::new(error(StatusCode::BAD_REQUEST, "Invalid cursor."))),
        },
    };
    let page: Vec<Value> = items.iter().skip(start).take(limit).cloned().collect();
    let has_more = start + page.len() < items.len();
    let next = if has_more { page.last().map(key) } else { None };
    Ok(json!({ field: page, "has_more": has_more, "next_cursor": next }))
}

pub(crate) fn paginate(
    items: Vec<Value>,
    q: &BTreeMap<String, String>,
    field: &str,
    fields: &[&str],
    default_field: &str,
) -> Response {
    match page_json(items, q, field, fields, default_field) {
        Ok(v) => axum::Json(v).into_response(),
        Err(r) => *r,
    }
}
