//! A request's fields as REST carries them: path and query values are text
//! (`force=true`, `timeout=10`), body members are JSON. `from_fields` reads
//! both into one request type, parsing text where the field wants a number,
//! a flag or a name from a list, and says which field was wrong.

use serde::de::value::{MapDeserializer, StringDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde_json::Value;

/// One field's value as it came.
pub(crate) enum Field {
    /// From the path or the query string.
    Text { name: String, value: String },
    /// A member of the JSON body, or the whole body; `what` says which
    /// ("the body", or the member's name) when it is not as expected.
    Json { what: String, value: Value },
}

/// The request type `T` from its named fields.
pub(crate) fn from_fields<T: DeserializeOwned>(fields: Vec<(String, Field)>) -> Result<T, serde_json::Error> {
    T::deserialize(MapDeserializer::new(fields.into_iter()))
}

impl<'de> IntoDeserializer<'de, serde_json::Error> for Field {
    type Deserializer = Field;
    fn into_deserializer(self) -> Field {
        self
    }
}

fn wrong(name: &str, value: &str, wanted: &str) -> serde_json::Error {
    de::Error::custom(format!(
        "{name} must be {wanted}, not '{}'",
        value.chars().take(40).collect::<String>()
    ))
}

/// `a, b or c`.
fn either(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// A JSON field that does not fit its type: which one, and why.
fn not_json(what: &str, e: serde_json::Error) -> serde_json::Error {
    de::Error::custom(format!(
        "{what}: expected JSON as /api/v1/openapi.json describes it: {e}"
    ))
}

/// Parses a text field into a number of type `$t`, or says what was wanted.
macro_rules! numbers {
    ($($method:ident: $t:ty => $visit:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match self {
                Field::Json { what, value } => value.$method(visitor).map_err(|e| not_json(&what, e)),
                Field::Text { name, value } => match value.parse::<$t>() {
                    Ok(n) => visitor.$visit(n),
                    Err(_) => Err(wrong(&name, &value, "a number")),
                },
            }
        }
    )*};
}

/// Methods where a text field is just its text.
macro_rules! as_text {
    ($($method:ident),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            match self {
                Field::Json { what, value } => value.$method(visitor).map_err(|e| not_json(&what, e)),
                Field::Text { value, .. } => visitor.visit_string(value),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Field {
    type Error = serde_json::Error;

    as_text!(
        deserialize_any,
        deserialize_str,
        deserialize_string,
        deserialize_identifier,
        deserialize_char,
        deserialize_ignored_any,
    );

    numbers!(
        deserialize_u8: u8 => visit_u8,
        deserialize_u16: u16 => visit_u16,
        deserialize_u32: u32 => visit_u32,
        deserialize_u64: u64 => visit_u64,
        deserialize_i8: i8 => visit_i8,
        deserialize_i16: i16 => visit_i16,
        deserialize_i32: i32 => visit_i32,
        deserialize_i64: i64 => visit_i64,
        deserialize_f32: f32 => visit_f32,
        deserialize_f64: f64 => visit_f64,
    );

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Field::Json { what, value } => value.deserialize_bool(visitor).map_err(|e| not_json(&what, e)),
            Field::Text { name, value } => match value.as_str() {
                "true" | "1" => visitor.visit_bool(true),
                "false" | "0" => visitor.visit_bool(false),
                _ => Err(wrong(&name, &value, "true or false")),
            },
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Field::Json { what, value } => value.deserialize_option(visitor).map_err(|e| not_json(&what, e)),
            text => visitor.visit_some(text),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self {
            Field::Json { what, value } => value
                .deserialize_newtype_struct(name, visitor)
                .map_err(|e| not_json(&what, e)),
            text => visitor.visit_newtype_struct(text),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self {
            Field::Json { what, value } => value
                .deserialize_enum(name, variants, visitor)
                .map_err(|e| not_json(&what, e)),
            Field::Text { name, value } => {
                if !variants.contains(&value.as_str()) {
                    return Err(wrong(&name, &value, &either(variants)));
                }
                let text: StringDeserializer<serde_json::Error> = value.into_deserializer();
                visitor.visit_enum(text)
            }
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Field::Json { what, value } => value.deserialize_unit(visitor).map_err(|e| not_json(&what, e)),
            Field::Text { .. } => visitor.visit_unit(),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Field::Json { what, value } => value
                .deserialize_unit_struct(name, visitor)
                .map_err(|e| not_json(&what, e)),
            Field::Text { .. } => visitor.visit_unit(),
        }
    }

    /// Lists, maps and structs come only in a JSON body.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Field::Json { what, value } => value.deserialize_seq(visitor).map_err(|e| not_json(&what, e)),
            Field::Text { name, value } => Err(wrong(&name, &value, "a list, in a JSON body")),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self {
            Field::Json { what, value } => value.deserialize_map(visitor).map_err(|e| not_json(&what, e)),
            Field::Text { name, value } => Err(wrong(&name, &value, "an object, in a JSON body")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_map(visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_core::model::ContainerVerb;
    use berth_core::model::ops::ContainerAct;

    fn text(name: &str, value: &str) -> (String, Field) {
        (
            name.into(),
            Field::Text {
                name: name.into(),
                value: value.into(),
            },
        )
    }

    #[test]
    fn text_is_parsed_for_the_field_that_wants_it() {
        let act: ContainerAct = from_fields(vec![
            text("host", "local"),
            text("id", "web"),
            text("action", "stop"),
            text("timeout", "10"),
            text("force", "1"),
        ])
        .unwrap();
        assert_eq!(act.host.0, "local");
        assert_eq!(act.action, ContainerVerb::Stop);
        assert_eq!(act.timeout, Some(10));
        assert!(act.force && !act.volumes);
    }

    #[test]
    fn a_wrong_value_names_its_field_and_what_was_wanted() {
        let base = || vec![text("host", "local"), text("id", "web")];
        let mut bad = base();
        bad.push(text("action", "explode"));
        let e = from_fields::<ContainerAct>(bad).unwrap_err().to_string();
        assert!(
            e.contains("action must be start, stop, restart, kill, pause, unpause or remove, not 'explode'"),
            "{e}"
        );
        let mut bad = base();
        bad.extend([text("action", "stop"), text("timeout", "soon")]);
        let e = from_fields::<ContainerAct>(bad).unwrap_err().to_string();
        assert!(e.contains("timeout must be a number, not 'soon'"), "{e}");
        let mut twice = base();
        twice.extend([text("action", "stop"), text("force", "true"), text("force", "false")]);
        assert!(
            from_fields::<ContainerAct>(twice).is_err(),
            "a field given twice is refused"
        );
        let e = from_fields::<ContainerAct>(vec![text("host", "local")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `id`"), "{e}");
    }

    #[test]
    fn a_body_that_does_not_fit_says_it_is_the_body_and_what_was_wrong() {
        use berth_core::model::ops::UpdateRule;
        let body = |value: Value| {
            (
                "spec".to_string(),
                Field::Json {
                    what: "the body".into(),
                    value,
                },
            )
        };
        let rule = serde_json::json!({ "name": "x", "condition": { "kind": "unhealthy" } });
        let ok: UpdateRule = from_fields(vec![text("id", "7"), body(rule)]).unwrap();
        assert_eq!((ok.id.0, ok.spec.name.as_str()), (7, "x"));
        let odd = serde_json::json!({ "name": "x", "condition": { "kind": "warp_drive" } });
        let e = from_fields::<UpdateRule>(vec![text("id", "7"), body(odd)])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("the body: expected JSON") && e.contains("warp_drive"),
            "{e}"
        );
        let rule = serde_json::json!({ "name": "x", "condition": { "kind": "unhealthy" } });
        let e = from_fields::<UpdateRule>(vec![text("id", "seven"), body(rule)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("id must be a number, not 'seven'"), "{e}");
    }
}
