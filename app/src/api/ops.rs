//! The server function of every request in `berth_core::model::ops`, one
//! each, generated from the same list the REST routes come from: a page
//! calls `remove_image(RemoveImage { .. })` (or dispatches a
//! `RemoveImageCall` through a `ServerAction`), the browser posts the
//! request as JSON to `/api/remove_image`, and on the server core resolves
//! it for the signed-in caller, exactly as its REST route does.

use crate::error::AppError;
use berth_core::model::ops::Request;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

macro_rules! server_fns {
    ($($name:ident $id:literal = $ty:ident),* $(,)?) => { paste::paste! {$(
        #[doc = concat!("The server function of [`berth_core::model::ops::", stringify!($ty), "`].")]
        #[server(name = [<$ty Call>], endpoint = $id, input = Json)]
        pub async fn $name(
            #[server(flatten)] request: berth_core::model::ops::$ty,
        ) -> Result<<berth_core::model::ops::$ty as Request>::Response, AppError> {
            crate::api::ssr::resolve(request).await
        }
    )*}};
}

berth_core::for_each_request!(server_fns);
