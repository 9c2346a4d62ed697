//! The human docs page at /docs, rendered from the OpenAPI document (so it cannot drift from
//! the API): each route with what it does, a curl example and its responses, then the error
//! codes. Plain HTML, no scripts: it works offline and behind strict proxies.

use super::AppError;
use std::fmt::Write;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{OpenApi, RefOr};

/// Where the examples point: the default `--listen`.
const BASE_URL: &str = "http://127.0.0.1:8080";

pub fn render(doc: &OpenApi) -> String {
    let mut page = String::new();
    let title = escape(&doc.info.title);
    let _ = write!(
        page,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title} API</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.45}}\
         pre{{background:#f4f4f4;padding:.75rem;overflow-x:auto}}code{{background:#f4f4f4}}\
         h2{{border-top:1px solid #ccc;padding-top:1rem}}td,th{{text-align:left;padding:.2rem .6rem .2rem 0;vertical-align:top}}</style>\
         </head><body><h1>{title} {version}</h1><p>{description}</p>\
         <p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI 3.1). \
         With <code>--api-key</code>, routes marked 🔒 need <code>Authorization: Bearer &lt;key&gt;</code>.</p>",
        version = escape(&doc.info.version),
        description = prose(doc.info.description.as_deref().unwrap_or("")),
    );
    // The API first, then operations (probes, metrics, docs), each in path order.
    for api_first in [true, false] {
        for (path, item) in doc.paths.paths.iter() {
            for (method, operation) in [("GET", &item.get), ("POST", &item.post)] {
                let Some(operation) = operation else { continue };
                let is_api = path.starts_with("/v1/") && method == "POST";
                if is_api == api_first {
                    render_operation(&mut page, method, path, operation);
                }
            }
        }
    }
    page.push_str("<h2 id=\"errors\">Error codes</h2><p>Every error is <code>{\"error\": {\"code\": \"...\", \"message\": \"...\"}}</code>; \
        the message names the field at fault. Codes:</p><ul>");
    for code in AppError::CODES {
        let _ = write!(page, "<li><code>{code}</code></li>");
    }
    page.push_str("</ul></body></html>\n");
    page
}

fn render_operation(page: &mut String, method: &str, path: &str, operation: &Operation) {
    let locked = if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        " 🔒"
    } else {
        ""
    };
    let _ = write!(
        page,
        "<h2 id=\"{id}\"><code>{method} {path}</code>{locked}</h2><p><strong>{summary}</strong></p>",
        id = escape(path.trim_start_matches('/')),
        path = escape(path),
        summary = prose(operation.summary.as_deref().unwrap_or("")),
    );
    if let Some(description) = &operation.description {
        let _ = write!(page, "<p>{}</p>", prose(description));
    }
    let examples = operation
        .request_body
        .iter()
        .flat_map(|body| body.content.values())
        .flat_map(|content| {
            let named = content
                .examples
                .iter()
                .filter_map(|(name, example)| match example {
                    RefOr::T(example) => example.value.clone().map(|v| (name.clone(), v)),
                    RefOr::Ref(_) => None,
                });
            content
                .example
                .clone()
                .map(|v| ("example".to_string(), v))
                .into_iter()
                .chain(named)
        });
    let mut any_example = false;
    for (name, body) in examples {
        any_example = true;
        let _ = write!(
            page,
            "<p>Example{}:</p><pre>curl -s {BASE_URL}{} -H 'content-type: application/json' -d '{}'</pre>",
            if name == "example" { String::new() } else { format!(" ({})", escape(&name)) },
            escape(path),
            escape(&body.to_string().replace('\'', "'\\''")),
        );
    }
    if !any_example {
        let _ = write!(page, "<pre>curl -s {BASE_URL}{}</pre>", escape(path));
    }
    page.push_str("<table><tr><th>status</th><th>meaning</th></tr>");
    for (status, response) in &operation.responses.responses {
        let description = match response {
            RefOr::T(response) => response.description.as_str(),
            RefOr::Ref(_) => "",
        };
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(status),
            prose(description)
        );
    }
    page.push_str("</table>");
}

/// Escaped text with its `code spans` (as written in the doc comments) set as code.
fn prose(text: &str) -> String {
    escape(text)
        .split('`')
        .enumerate()
        .map(|(i, part)| match i % 2 {
            1 => format!("<code>{part}</code>"),
            _ => part.to_string(),
        })
        .collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
