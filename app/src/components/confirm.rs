//! Asking before a destructive action.

/// Asks the person to confirm (a browser dialog). On the server, where no
/// click ever happens, it is always false.
pub fn confirmed(question: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        leptos::prelude::window()
            .confirm_with_message(question)
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = question;
        false
    }
}
