//! How a request names a container: a name, an id or an id prefix,
//! checked before it reaches the engine, resolved to the full id, and the
//! name it is recorded by.

use super::{Host, HostError};

/// Checks a container reference from a request: a name, an id or an id
/// prefix, never anything that would change the engine's URL.
fn check_reference(id: &str) -> Result<(), HostError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !id.starts_with(['.', '-']);
    if ok {
        Ok(())
    } else {
        Err(HostError::Invalid(format!(
            "'{}' is not a container name or id (letters, digits, '_', '.', '-')",
            id.chars().take(64).collect::<String>()
        )))
    }
}

impl Host {
    /// The full id of container `id` (a full id, a unique id prefix of six
    /// or more, or a name), from the list as last seen, else the engine.
    pub async fn resolve_container(&self, id: &str) -> Result<String, HostError> {
        check_reference(id)?;
        let list = self.containers();
        if let Some(c) = list.iter().find(|c| c.id == id || c.name == id) {
            return Ok(c.id.clone());
        }
        if id.len() >= 6 {
            let mut prefixed = list.iter().filter(|c| c.id.starts_with(id));
            if let (Some(c), None) = (prefixed.next(), prefixed.next()) {
                return Ok(c.id.clone());
            }
        }
        Ok(self.engine.inspect(id).await?.id)
    }

    /// The name a container is recorded by: its name when known, else what was asked for.
    pub(crate) fn container_name(&self, id: &str) -> String {
        self.containers()
            .iter()
            .find(|c| c.id == id || c.name == id || (id.len() >= 6 && c.id.starts_with(id)))
            .map_or_else(|| id.to_string(), |c| c.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_and_ids_reach_the_engine() {
        for ok in ["web", "3f2a9c1b7d44", "my_app.web-1"] {
            assert!(check_reference(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../images/json", "web?x=1", "a/b", "-rf", &"x".repeat(129)] {
            assert!(matches!(check_reference(bad), Err(HostError::Invalid(_))), "{bad}");
        }
    }
}
