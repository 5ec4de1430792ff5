//! What the rule and channel forms share: the fields checked into a spec,
//! the spec saved (created or replaced), back to the list once saved, and
//! the one error to show beside the form (what did not parse, else what
//! core refused; a new attempt hides the last refusal until answered).

use crate::components::status::ErrorBox;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use std::future::Future;

pub(super) struct Saving<S: 'static, R: 'static> {
    pub save: Action<S, Result<R, AppError>>,
    problem: RwSignal<Option<AppError>>,
}

impl<S, R> Clone for Saving<S, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, R> Copy for Saving<S, R> {}

impl<S, R> Saving<S, R>
where
    S: Clone + Send + Sync + 'static,
    R: Clone + Send + Sync + 'static,
{
    /// Saves with `send`; once saved, goes to `back`.
    pub fn new<F, Fut>(back: &'static str, send: F) -> Self
    where
        F: Fn(S) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, AppError>> + Send + 'static,
    {
        let save = Action::new(move |spec: &S| send(spec.clone()));
        let navigate = use_navigate();
        Effect::new(move |_| {
            if save.value().with(|v| matches!(v, Some(Ok(_)))) {
                navigate(back, Default::default());
            }
        });
        Saving {
            save,
            problem: RwSignal::new(None),
        }
    }

    /// Saves `spec`, or shows why the fields make none.
    pub fn submit(&self, spec: Result<S, String>) {
        self.problem.set(None);
        match spec {
            Ok(spec) => {
                self.save.dispatch(spec);
            }
            Err(message) => self.problem.set(Some(AppError::invalid(message))),
        }
    }

    /// The error to show, in an element with `id`.
    pub fn error(self, id: &'static str) -> impl Fn() -> Option<AnyView> + Copy + Send + Sync + 'static {
        move || {
            let refused = match self.save.pending().get() {
                true => None,
                false => self.save.value().get().and_then(Result::err),
            };
            self.problem
                .get()
                .or(refused)
                .map(|e| view! { <div id=id><ErrorBox error=e/></div> }.into_any())
        }
    }
}
