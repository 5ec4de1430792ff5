//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the REST API,
//! generated from the requests' definitions (`rest::ops`), the other
//! handlers' `#[utoipa::path]` annotations and the model's schemas, so it
//! cannot drift from the code. Public: it says what the API is, not what
//! is in it.

use super::{log, stats, terminal, users};
use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "berth",
        description = "Docker engines of many servers from one place. Sign in with the session cookie \
                       (POST /api/v1/session) or send an API key as `Authorization: Bearer berth_…`. \
                       Errors are `{\"error\", \"kind\"}`; lists come in pages (`limit`, `cursor`)."
    ),
    paths(
        super::login, super::logout, super::me,
        super::list, super::export,
        stats::drifts,
        users::users,
        log::status, log::key, log::checkpoint, log::sign, log::consistency, log::event_proof,
        super::stored_logs::search,
        super::logs::lines, super::logs::download,
        terminal::ticket, terminal::recording,
        super::hooks::receive,
    ),
    // Used only as parameter types or in `Failures`, so listed here to be registered.
    components(schemas(super::ExportFormatName, super::ErrorBody)),
    modifiers(&Security),
    security(("bearer" = []), ("session" = [])),
)]
struct ApiDoc;

/// The two ways to sign in.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("an API key: berth_<id>_<secret>"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::http::SESSION_COOKIE))),
        );
    }
}

/// The document, built once.
pub(crate) async fn document() -> Json<utoipa::openapi::OpenApi> {
    static DOC: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    Json(
        DOC.get_or_init(|| {
            let mut doc = ApiDoc::openapi();
            super::ops::document(&mut doc);
            doc
        })
        .clone(),
    )
}
