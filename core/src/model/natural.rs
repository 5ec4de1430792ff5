//! The order names are listed in for people: natural order, where a run of
//! digits compares as the number it writes (`web-2` before `web-10`).
//! Plain string code, so the browser orders exactly as core does.

use super::Container;
use std::cmp::Ordering;

/// Compares `a` and `b` in natural order: digit runs as numbers (of any
/// length, leading zeros aside), everything else character by character.
/// Names equal that way (`x-01`, `x-1`) fall back to plain text, so the
/// order is total and the same every time.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a, b);
    loop {
        let (Some(cx), Some(cy)) = (x.chars().next(), y.chars().next()) else {
            return x.len().cmp(&y.len()).then_with(|| a.cmp(b));
        };
        if cx.is_ascii_digit() && cy.is_ascii_digit() {
            let (nx, rest_x) = split_digits(x);
            let (ny, rest_y) = split_digits(y);
            let order = number_cmp(nx, ny);
            if order != Ordering::Equal {
                return order;
            }
            (x, y) = (rest_x, rest_y);
        } else {
            if cx != cy {
                return cx.cmp(&cy);
            }
            (x, y) = (&x[cx.len_utf8()..], &y[cy.len_utf8()..]);
        }
    }
}

/// The order containers are listed in: by compose project (none first),
/// then by name, naturally.
pub fn container_order(a: &Container, b: &Container) -> Ordering {
    match (&a.project, &b.project) {
        (Some(p), Some(q)) => natural_cmp(p, q),
        (p, q) => p.is_some().cmp(&q.is_some()),
    }
    .then_with(|| natural_cmp(&a.name, &b.name))
}

/// The leading digits of `s`, and the rest.
fn split_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

/// Two digit runs as the numbers they write, however long.
fn number_cmp(x: &str, y: &str) -> Ordering {
    let (x, y) = (x.trim_start_matches('0'), y.trim_start_matches('0'));
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort_by(|a, b| natural_cmp(a, b));
        v
    }

    #[test]
    fn digit_runs_compare_as_numbers() {
        assert_eq!(
            sorted(&["x-10", "x-2", "x-11", "x-1", "x-20", "x-3"]),
            ["x-1", "x-2", "x-3", "x-10", "x-11", "x-20"]
        );
        assert_eq!(
            sorted(&["web-2-db", "web-10-app", "web-2-app", "web", "web-"]),
            ["web", "web-", "web-2-app", "web-2-db", "web-10-app"]
        );
        assert_eq!(sorted(&["b1", "a10", "a9"]), ["a9", "a10", "b1"]);
    }

    #[test]
    fn long_numbers_and_leading_zeros_are_ordered_and_ties_break_on_the_text() {
        let huge = "n-123456789012345678901234567890";
        assert_eq!(sorted(&[huge, "n-99"]), ["n-99", huge]);
        assert_eq!(sorted(&["x-1", "x-01", "x-001"]), ["x-001", "x-01", "x-1"]);
        assert_eq!(natural_cmp("x-01", "x-01"), Ordering::Equal);
        assert_eq!(sorted(&["x-010", "x-9"]), ["x-9", "x-010"]);
    }

    #[test]
    fn containers_go_by_project_then_name() {
        let c = |project: Option<&str>, name: &str| Container {
            name: name.into(),
            project: project.map(str::to_string),
            ..Container::default()
        };
        let mut list = [
            c(Some("shop-10"), "a"),
            c(Some("shop-2"), "web-10"),
            c(None, "x-10"),
            c(Some("shop-2"), "web-9"),
            c(None, "x-2"),
        ];
        list.sort_by(container_order);
        let names: Vec<&str> = list.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["x-2", "x-10", "web-9", "web-10", "a"]);
    }

    #[test]
    fn non_digits_compare_as_text() {
        assert_eq!(sorted(&["b", "a", "B", "é", "a-1"]), ["B", "a", "a-1", "b", "é"]);
        assert_eq!(natural_cmp("", "a"), Ordering::Less);
        assert_eq!(natural_cmp("1", "a"), Ordering::Less);
    }
}
