//! A small code editor for compose files: a textarea over a `<pre>` that
//! shows the same text with YAML highlighted (keys, strings, comments,
//! numbers and booleans, list dashes), kept in step on every input and
//! scroll, and a line marked where compose found an error. Not a YAML
//! parser: the highlighting is line by line and only for the eye.

use leptos::html;
use leptos::prelude::*;

/// The editor for `text`, the textarea named `id`; `error_line` (from 1)
/// is marked.
#[component]
pub fn YamlEditor(
    text: RwSignal<String>,
    #[prop(into)] error_line: Signal<Option<u32>>,
    id: &'static str,
    #[prop(optional)] label: Option<&'static str>,
) -> impl IntoView {
    let shown = NodeRef::<html::Pre>::new();
    let input = NodeRef::<html::Textarea>::new();
    let highlighted = Memo::new(move |_| text.with(|t| highlight(t, error_line.get())));
    let sync = move || {
        if let (Some(pre), Some(area)) = (shown.get_untracked(), input.get_untracked()) {
            pre.set_scroll_top(area.scroll_top());
            pre.set_scroll_left(area.scroll_left());
        }
    };
    view! {
        <div class="code-editor">
            <pre class="code-shown" aria-hidden="true" node_ref=shown inner_html=move || highlighted.get()></pre>
            <textarea id=id class="code-input" node_ref=input spellcheck="false" autocomplete="off" wrap="off"
                aria-label=label
                prop:value=move || text.get()
                on:input=move |ev| { text.set(event_target_value(&ev)); sync(); }
                on:scroll=move |_| sync()
                on:keydown=move |ev| {
                    // Tab indents by two spaces instead of leaving the field.
                    if ev.key() == "Tab" && !ev.shift_key() {
                        ev.prevent_default();
                        indent(input, text);
                    }
                }></textarea>
        </div>
    }
}

/// Puts two spaces at the caret.
fn indent(input: NodeRef<html::Textarea>, text: RwSignal<String>) {
    let Some(area) = input.get_untracked() else { return };
    let value = area.value();
    let at = area.selection_start().ok().flatten().unwrap_or(0) as usize;
    // The caret counts UTF-16 units; find the byte offset.
    let byte = value
        .char_indices()
        .scan(0usize, |units, (i, c)| {
            let here = *units;
            *units += c.len_utf16();
            Some((here, i))
        })
        .find(|(units, _)| *units >= at)
        .map_or(value.len(), |(_, i)| i);
    let next = format!("{}  {}", &value[..byte], &value[byte..]);
    area.set_value(&next);
    let caret = (at + 2) as u32;
    let _ = area.set_selection_range(caret, caret);
    text.set(next);
}

fn escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
}

fn span(class: &str, s: &str, out: &mut String) {
    if s.is_empty() {
        return;
    }
    out.push_str("<span class=\"");
    out.push_str(class);
    out.push_str("\">");
    escape(s, out);
    out.push_str("</span>");
}

/// The HTML of `text` highlighted, one `<span class="line">` per line,
/// line `error_line` (from 1) marked `err`. Always ends in a newline and
/// a space, so the last (maybe empty) line has the textarea's height.
pub fn highlight(text: &str, error_line: Option<u32>) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for (n, line) in text.split('\n').enumerate() {
        let err = error_line == Some(n as u32 + 1);
        out.push_str(if err {
            "<span class=\"line err\">"
        } else {
            "<span class=\"line\">"
        });
        line_html(line.strip_suffix('\r').unwrap_or(line), &mut out);
        out.push_str("</span>\n");
    }
    out.push(' ');
    out
}

fn line_html(line: &str, out: &mut String) {
    let body = line.trim_start();
    escape(&line[..line.len() - body.len()], out);
    let mut rest = body;
    if rest.starts_with('#') {
        return span("yc", rest, out);
    }
    // List dashes ("- ", "- - ").
    while rest == "-" || rest.starts_with("- ") {
        span("yd", "-", out);
        let after = &rest[1..];
        let trimmed = after.trim_start();
        escape(&after[..after.len() - trimmed.len()], out);
        rest = trimmed;
    }
    if let Some(end) = key_end(rest) {
        span("yk", &rest[..end], out);
        escape(":", out);
        rest = &rest[end + 1..];
    }
    value_html(rest, out);
}

/// Where a mapping key's colon is: a plain or quoted key, then `:` at the
/// end of the line or before a space.
fn key_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let first = *bytes.first()?;
    if first == b'"' || first == b'\'' {
        let close = s[1..].find(first as char)? + 1;
        return (bytes.get(close + 1) == Some(&b':') && matches!(bytes.get(close + 2), None | Some(b' ' | b'\t')))
            .then_some(close + 1);
    }
    if matches!(first, b'#' | b'{' | b'[' | b'&' | b'*' | b'|' | b'>' | b'!') {
        return None;
    }
    for (i, c) in s.char_indices() {
        match c {
            '#' if i > 0 && s[..i].ends_with([' ', '\t']) => return None,
            ':' if matches!(bytes.get(i + 1), None | Some(b' ' | b'\t')) => return Some(i),
            _ => {}
        }
    }
    None
}

fn value_html(s: &str, out: &mut String) {
    let mut plain_from = 0;
    let mut i = 0;
    let flush = |from: usize, to: usize, out: &mut String| plain_html(&s[from..to], out);
    while i < s.len() {
        let c = s[i..].chars().next().unwrap_or(' ');
        let at_word = i == 0 || s[..i].ends_with([' ', '\t', '[', '{', ',']);
        if (c == '"' || c == '\'') && at_word {
            let close = closing(&s[i + 1..], c).map_or(s.len(), |j| i + 1 + j + 1);
            flush(plain_from, i, out);
            span("ys", &s[i..close], out);
            i = close;
            plain_from = i;
        } else if c == '#' && (i == 0 || s[..i].ends_with([' ', '\t'])) {
            flush(plain_from, i, out);
            span("yc", &s[i..], out);
            return;
        } else {
            i += c.len_utf8();
        }
    }
    flush(plain_from, s.len(), out);
}

/// The index of the quote closing a string opened by `quote` (a `\` escapes
/// in double quotes, a doubled `'` in single ones).
fn closing(s: &str, quote: char) -> Option<usize> {
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if quote == '"' && c == '\\' {
            chars.next();
        } else if c == quote {
            if quote == '\'' && chars.peek().is_some_and(|&(_, n)| n == '\'') {
                chars.next();
                continue;
            }
            return Some(i);
        }
    }
    None
}

/// A plain scalar: numbers and booleans stand out.
fn plain_html(s: &str, out: &mut String) {
    let word = s.trim();
    let lead = &s[..s.len() - s.trim_start().len()];
    let trail = &s[lead.len() + word.len()..];
    let number = !word.is_empty() && word.parse::<f64>().is_ok();
    let constant = matches!(word, "true" | "false" | "null" | "~" | "yes" | "no");
    if number || constant {
        escape(lead, out);
        span(if number { "yn" } else { "yb" }, word, out);
        escape(trail, out);
    } else {
        escape(s, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_strings_comments_numbers_and_dashes_are_marked() {
        let html = highlight(
            "services:\n  web:\n    command: [\"sleep\", '600'] # wait\n    - 5",
            None,
        );
        assert!(html.starts_with("<span class=\"line\"><span class=\"yk\">services</span>:</span>\n"));
        assert!(html.contains("<span class=\"yk\">command</span>: [<span class=\"ys\">&quot;sleep&quot;</span>, <span class=\"ys\">'600'</span>] <span class=\"yc\"># wait</span>"));
        assert!(html.contains("<span class=\"yd\">-</span> <span class=\"yn\">5</span>"));
        assert!(html.ends_with("</span>\n "));
    }

    #[test]
    fn urls_and_hashes_inside_values_are_not_keys_or_comments() {
        let html = highlight("image: http://x:80/a#b\n# note: here", None);
        assert!(html.contains("<span class=\"yk\">image</span>: http://x:80/a#b"));
        assert!(html.contains("<span class=\"yc\"># note: here</span>"));
    }

    #[test]
    fn the_error_line_is_marked_and_html_escaped() {
        let html = highlight("a: 1\nb: <x>\n", Some(2));
        let lines: Vec<&str> = html.split('\n').collect();
        assert_eq!(lines.len(), 4, "three lines and the trailing space: {html}");
        assert!(lines[1].starts_with("<span class=\"line err\">"));
        assert!(lines[1].contains("&lt;x&gt;"));
        assert!(!lines[0].contains("err"));
    }
}
