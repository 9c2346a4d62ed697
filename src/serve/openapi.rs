//! The OpenAPI document of the service: paths from the handlers' `#[utoipa::path]`
//! annotations, schemas from the request and response types they name.

use super::{lint_route, review, router, store_routes};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tact",
        description = "How should the brand respond to this comment? Decisions for social-media \
            comments in Romanian, Bulgarian, Russian and English, from a multilingual transformer \
            running on the CPU and a playbook of community-management rules. Every error is \
            `{\"error\": {\"code\": \"...\", \"message\": \"...\"}}`."
    ),
    paths(
        router::decide,
        router::classify,
        lint_route::lint,
        router::health,
        router::ready,
        router::info,
        store_routes::author,
        store_routes::forget,
        store_routes::decision,
        store_routes::feedback,
        store_routes::reply,
        review::queue,
        review::figures,
        router::metrics,
        router::openapi_json,
        router::docs
    ),
    modifiers(&BearerKey),
    tags(
        (name = "moderation", description = "Decisions and scores for comments"),
        (name = "memory", description = "Authors' histories, the audit log, moderators' feedback and the brand's replies (the store)"),
        (name = "operations", description = "Probes, metrics and documentation")
    )
)]
struct ApiDoc;

/// The optional API key (`--api-key`): routes marked with it need it when it is set.
struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Only when the server runs with --api-key / TACT_API_KEY",
                    ))
                    .build(),
            ),
        );
    }
}

pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
