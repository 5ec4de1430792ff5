//! The REST routes and OpenAPI entries of the requests in
//! `berth_core::model::ops`, derived from each request's definition: its
//! route (verb, path, id, status, paging) says where it lives, its fields
//! where they come from (path, query or JSON body), and `Resolve` carries it
//! out. Nothing here is written per operation.

use super::input::{Field, from_fields};
use super::{ApiError, AppState, Authed, PageQuery, Query, bad_request};
use axum::body::Bytes;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use axum::{Json, Router};
use berth_core::model::ops::{self as req, Body, Method, Request};
use berth_core::ops::Resolve;
use serde_json::Value;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{PartialSchema, ToSchema};

/// Every request's route.
pub(super) fn routes() -> Router<AppState> {
    macro_rules! route_all {
        ($($name:ident $id:literal = $ty:ident),* $(,)?) => {
            Router::new()$(.route(req::$ty::ROUTE.path, method::<req::$ty>()))*
        };
    }
    berth_core::for_each_request!(route_all)
}

fn method<R: Resolve>() -> MethodRouter<AppState> {
    match R::ROUTE.method {
        Method::Get => get(handle::<R>),
        Method::Post => post(handle::<R>),
        Method::Put => put(handle::<R>),
        Method::Patch => patch(handle::<R>),
        Method::Delete => delete(handle::<R>),
    }
}

/// One call: the request read from path, query and body, resolved for the
/// caller, answered with the route's status (and paged when it says so).
async fn handle<R: Resolve>(
    State(state): State<AppState>,
    Authed(caller): Authed,
    path: RawPathParams,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let route = R::ROUTE;
    let text = |(name, value): (String, String)| (name.clone(), Field::Text { name, value });
    let (paging, query): (Vec<_>, Vec<_>) = query
        .into_iter()
        .partition(|(k, _)| route.page_by.is_some() && (k == "limit" || k == "cursor"));
    let mut fields: Vec<(String, Field)> = path.iter().map(|(k, v)| text((k.to_string(), v.to_string()))).collect();
    match route.body {
        Body::None => fields.extend(query.into_iter().map(text)),
        Body::Whole(name) => {
            fields.extend(query.into_iter().map(text));
            fields.push((
                name.to_string(),
                Field::Json {
                    what: "the body".into(),
                    value: json_body(&body)?,
                },
            ));
        }
        Body::Fields if body.iter().all(u8::is_ascii_whitespace) => {}
        Body::Fields => match json_body(&body)? {
            Value::Object(members) => fields.extend(members.into_iter().map(|(k, value)| {
                let what = k.clone();
                (k, Field::Json { what, value })
            })),
            _ => return Err(bad_request("expected a JSON object")),
        },
    }
    let request: R = from_fields(fields).map_err(bad_request)?;
    let answer = request.resolve(&state.berth, &caller).await?;
    let status = StatusCode::from_u16(route.status).unwrap_or(StatusCode::OK);
    if status == StatusCode::NO_CONTENT {
        return Ok(status.into_response());
    }
    let Some(key) = route.page_by else {
        return Ok((status, Json(answer)).into_response());
    };
    let items = match serde_json::to_value(answer) {
        Ok(Value::Array(items)) => items,
        _ => return Err(super::internal("a paged answer is not a list")),
    };
    let paging = page_query(paging)?;
    let page = paging.page(items, |item| item[key].as_str().unwrap_or_default().to_string())?;
    Ok((status, Json(page)).into_response())
}

fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| bad_request(format!("expected a JSON body: {e}")))
}

fn page_query(pairs: Vec<(String, String)>) -> Result<PageQuery, ApiError> {
    let mut fields = serde_json::Map::new();
    for (k, v) in pairs {
        if fields.insert(k.clone(), Value::String(v)).is_some() {
            return Err(bad_request(format!("{k} is given twice")));
        }
    }
    serde_json::from_value(Value::Object(fields)).map_err(bad_request)
}

/// Adds every request's entry to the document.
pub(super) fn document(doc: &mut utoipa::openapi::OpenApi) {
    macro_rules! document_all {
        ($($name:ident $id:literal = $ty:ident),* $(,)?) => {
            {
                $(entry::<req::$ty>(doc);)*
            }
        };
    }
    berth_core::for_each_request!(document_all);
}

/// The answer of a request, as a field, so that utoipa names (and
/// registers) whatever it is: a model type, a list of one, or nothing.
#[derive(ToSchema)]
#[allow(dead_code)]
struct Reply<T: ToSchema> {
    reply: T,
}

/// The properties of an object schema, with whether each is required.
fn properties(schema: RefOr<Schema>) -> Vec<(String, RefOr<Schema>, bool)> {
    match schema {
        RefOr::T(Schema::Object(object)) => object
            .properties
            .into_iter()
            .map(|(name, schema)| {
                let required = object.required.contains(&name);
                (name, schema, required)
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn entry<R>(doc: &mut utoipa::openapi::OpenApi)
where
    R: Request + ToSchema,
    R::Response: ToSchema,
{
    let route = R::ROUTE;
    let mut schemas = Vec::new();
    R::schemas(&mut schemas);
    Reply::<R::Response>::schemas(&mut schemas);
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, schema) in schemas {
        components.schemas.entry(name).or_insert(schema);
    }
    // A struct answer is a component referred to by name; a list (or
    // anything else utoipa names generically, like `Vec`) is written out.
    let reply = match R::Response::schema() {
        RefOr::T(Schema::Object(object)) if !object.properties.is_empty() => {
            let name = R::Response::name().to_string();
            components
                .schemas
                .entry(name.clone())
                .or_insert(RefOr::T(Schema::Object(object)));
            Some(RefOr::Ref(Ref::from_schema_name(name)))
        }
        other => Some(other),
    };

    let path_fields: Vec<&str> = route.path_fields().collect();
    let mut operation = OperationBuilder::new()
        .operation_id(Some(route.id))
        .tag(route.tag)
        .summary(Some(route.summary));
    let mut body_members = ObjectBuilder::new();
    let mut body_schema: Option<RefOr<Schema>> = None;
    let mut has_members = false;
    for (name, schema, required) in properties(R::schema()) {
        let place = if path_fields.contains(&name.as_str()) {
            Some(ParameterIn::Path)
        } else {
            match route.body {
                Body::Whole(whole) if whole == name => {
                    body_schema = Some(schema);
                    continue;
                }
                Body::Fields => None,
                Body::None | Body::Whole(_) => Some(ParameterIn::Query),
            }
        };
        match place {
            Some(place) => {
                let description = description(&schema);
                let required = place == ParameterIn::Path || required;
                operation = operation.parameter(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(place)
                        .required(if required { Required::True } else { Required::False })
                        .description(description)
                        .schema(Some(schema)),
                );
            }
            None => {
                has_members = true;
                if required {
                    body_members = body_members.required(name.clone());
                }
                body_members = body_members.property(name, schema);
            }
        }
    }
    if has_members {
        body_schema = Some(body_members.into());
    }
    if let Some(schema) = body_schema {
        operation = operation.request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", ContentBuilder::new().schema(Some(schema)).build())
                .required(Some(Required::True))
                .build(),
        ));
    }
    if route.page_by.is_some() {
        operation = operation.parameter(
            ParameterBuilder::new()
                .name("limit")
                .parameter_in(ParameterIn::Query)
                .description(Some("How many items at most (1 to 1000; 50 when absent)."))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1))
                        .maximum(Some(1000)),
                )),
        );
        operation = operation.parameter(
            ParameterBuilder::new()
                .name("cursor")
                .parameter_in(ParameterIn::Query)
                .description(Some("The `next_cursor` of the page before."))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    let reply = match (route.page_by, reply) {
        (Some(_), Some(RefOr::T(Schema::Array(list)))) => Some(
            ObjectBuilder::new()
                .property("items", ArrayBuilder::from(list))
                .required("items")
                .property(
                    "next_cursor",
                    ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                        Type::String,
                        Type::Null,
                    ])),
                )
                .required("next_cursor")
                .into(),
        ),
        (_, reply) => reply,
    };
    let mut ok = ResponseBuilder::new().description(match route.status {
        201 => "created",
        204 => "done",
        _ => "the answer",
    });
    if route.status != 204
        && let Some(schema) = reply
    {
        ok = ok.content("application/json", ContentBuilder::new().schema(Some(schema)).build());
    }
    operation = operation
        .response(route.status.to_string(), ok.build())
        .response("4XX", failure("refused, invalid or not found: see `kind`"))
        .response("5XX", failure("berth or the engine failed: see `kind`"));
    let http = match route.method {
        Method::Get => HttpMethod::Get,
        Method::Post => HttpMethod::Post,
        Method::Put => HttpMethod::Put,
        Method::Patch => HttpMethod::Patch,
        Method::Delete => HttpMethod::Delete,
    };
    doc.paths
        .add_path_operation(route.openapi_path(), vec![http], operation.build());
}

fn description(schema: &RefOr<Schema>) -> Option<String> {
    match schema {
        RefOr::T(Schema::Object(o)) => o.description.clone(),
        RefOr::T(Schema::Array(a)) => a.description.clone(),
        RefOr::T(Schema::OneOf(o)) => o.description.clone(),
        RefOr::T(Schema::AllOf(a)) => a.description.clone(),
        RefOr::Ref(r) if !r.description.is_empty() => Some(r.description.clone()),
        _ => None,
    }
}

fn failure(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
}
