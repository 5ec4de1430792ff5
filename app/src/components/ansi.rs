//! A container's log line as styled text: ANSI SGR colours and bold become
//! styles on runs of plain text; every other escape sequence (cursor moves,
//! clears, window titles, resets) is dropped, and every control character
//! but tab is shown inert as its Unicode symbol (ESC as ␛). The result is
//! text only: pages put it in text nodes, so no byte of a log is markup.
//! Searching and highlighting run over `Styled::text` (see `log_search`).

use std::ops::Range;

/// A colour an SGR sequence asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Colour {
    /// One of the 16 terminal colours (0–7 normal, 8–15 bright), drawn
    /// from the page's palette (`ansi-fg-N`, `ansi-bg-N`).
    Indexed(u8),
    /// An exact colour (256-colour cube and greys, truecolor).
    Rgb(u8, u8, u8),
}

/// How a run of text looks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    pub bold: bool,
    pub fg: Option<Colour>,
    pub bg: Option<Colour>,
}

impl Style {
    pub fn is_plain(&self) -> bool {
        *self == Style::default()
    }

    /// The classes of the run: `ansi-bold`, `ansi-fg-1`, `ansi-bg-12`.
    pub fn class(&self) -> String {
        let mut class = String::new();
        if self.bold {
            class.push_str("ansi-bold ");
        }
        if let Some(Colour::Indexed(n)) = self.fg {
            class.push_str(&format!("ansi-fg-{n} "));
        }
        if let Some(Colour::Indexed(n)) = self.bg {
            class.push_str(&format!("ansi-bg-{n} "));
        }
        class.truncate(class.trim_end().len());
        class
    }

    /// An inline style for exact colours only, built from numbers (never
    /// from the line's text): `color:#ff8700;background-color:#000000`.
    pub fn css(&self) -> String {
        let mut css = String::new();
        if let Some(Colour::Rgb(r, g, b)) = self.fg {
            css.push_str(&format!("color:#{r:02x}{g:02x}{b:02x};"));
        }
        if let Some(Colour::Rgb(r, g, b)) = self.bg {
            css.push_str(&format!("background-color:#{r:02x}{g:02x}{b:02x};"));
        }
        css
    }
}

/// A line as it is shown: its visible text and the styled runs over it
/// (byte ranges of `text`, in order, covering all of it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Styled {
    pub text: String,
    pub runs: Vec<(Range<usize>, Style)>,
}

/// The most SGR parameters read from one sequence; the rest are ignored.
const MAX_PARAMS: usize = 32;

const ESC: char = '\u{1b}';
/// How ESC shows when it does not start a sequence berth understands.
const ESC_SHOWN: char = '\u{241b}';

/// Parses one line (without its newline).
pub fn parse(line: &str) -> Styled {
    // A line ending in CR (CRLF output) loses it; a CR inside stays visible.
    let line = line.strip_suffix('\r').unwrap_or(line);
    if plain(line) {
        let runs = if line.is_empty() {
            Vec::new()
        } else {
            vec![(0..line.len(), Style::default())]
        };
        return Styled {
            text: line.to_string(),
            runs,
        };
    }
    let mut out = Builder::default();
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if c != ESC {
            out.push_char(c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        match escape(rest) {
            Escape::Sgr(params, len) => {
                out.apply_sgr(params);
                rest = &rest[len..];
            }
            Escape::Drop(len) => rest = &rest[len..],
            // Not one berth can read: ESC shows, what follows is text.
            Escape::Inert => {
                out.push_char(ESC_SHOWN);
                rest = &rest[ESC.len_utf8()..];
            }
        }
    }
    out.finish()
}

/// Whether a line has nothing to interpret (the common case, kept cheap).
fn plain(line: &str) -> bool {
    let bytes = line.as_bytes();
    !bytes.iter().enumerate().any(|(i, &b)| {
        (b < 0x20 && b != b'\t')
            || b == 0x7f
            || (b == 0xc2 && bytes.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)))
    })
}

/// What an escape at the start of `s` is, and how many bytes it spans.
enum Escape<'a> {
    Sgr(&'a str, usize),
    Drop(usize),
    Inert,
}

fn escape(s: &str) -> Escape<'_> {
    let b = s.as_bytes();
    match b.get(1) {
        // CSI: parameters 0x30–0x3F, intermediates 0x20–0x2F, a final 0x40–0x7E.
        Some(b'[') => {
            let mut i = 2;
            while b.get(i).is_some_and(|c| (0x30..=0x3f).contains(c)) {
                i += 1;
            }
            let params_end = i;
            while b.get(i).is_some_and(|c| (0x20..=0x2f).contains(c)) {
                i += 1;
            }
            match b.get(i) {
                Some(b'm')
                    if params_end == i && s[2..i].bytes().all(|c| c.is_ascii_digit() || c == b';' || c == b':') =>
                {
                    Escape::Sgr(&s[2..i], i + 1)
                }
                Some(0x40..=0x7e) => Escape::Drop(i + 1),
                // Cut short or broken: shown as text.
                _ => Escape::Inert,
            }
        }
        // OSC (titles, links), DCS, SOS, PM, APC: a string up to BEL or ST.
        Some(b']' | b'P' | b'X' | b'^' | b'_') => {
            let mut i = 2;
            while let Some(&c) = b.get(i) {
                match c {
                    0x07 => return Escape::Drop(i + 1),
                    0x1b if b.get(i + 1) == Some(&b'\\') => return Escape::Drop(i + 2),
                    // Another escape or a line end before the terminator:
                    // not a sequence, so nothing of it is hidden.
                    0x1b => return Escape::Inert,
                    _ => i += 1,
                }
            }
            Escape::Inert
        }
        // nF sequences (character sets: ESC ( B), then a final byte.
        Some(0x20..=0x2f) => {
            let mut i = 2;
            while b.get(i).is_some_and(|c| (0x20..=0x2f).contains(c)) {
                i += 1;
            }
            match b.get(i) {
                Some(0x30..=0x7e) => Escape::Drop(i + 1),
                _ => Escape::Inert,
            }
        }
        // Two-byte sequences: ESC c (reset), ESC 7 / ESC 8, ESC M, ESC =…
        Some(0x30..=0x7e) => Escape::Drop(2),
        _ => Escape::Inert,
    }
}

/// Collects text into runs of one style.
#[derive(Default)]
struct Builder {
    text: String,
    runs: Vec<(Range<usize>, Style)>,
    style: Style,
    /// Where the run in the current style began.
    start: usize,
}

impl Builder {
    fn push_char(&mut self, c: char) {
        match c {
            '\t' => self.text.push('\t'),
            // C0 controls as their Control Pictures (U+2400…), DEL as ␡.
            '\u{0}'..='\u{1f}' => self.text.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}')),
            '\u{7f}' => self.text.push('\u{2421}'),
            // C1 controls have no pictures: the replacement character.
            '\u{80}'..='\u{9f}' => self.text.push('\u{fffd}'),
            c => self.text.push(c),
        }
    }

    fn close_run(&mut self) {
        let end = self.text.len();
        if end > self.start {
            match self.runs.last_mut() {
                Some((range, style)) if *style == self.style && range.end == self.start => range.end = end,
                _ => self.runs.push((self.start..end, self.style)),
            }
        }
        self.start = end;
    }

    fn apply_sgr(&mut self, params: &str) {
        self.close_run();
        let mut style = self.style;
        if params.is_empty() {
            style = Style::default();
        }
        let mut list = params.split(';').take(MAX_PARAMS);
        while let Some(param) = list.next() {
            // `38:2::r:g:b` / `38:5:n`: one parameter with sub-parameters.
            if param.contains(':') {
                let mut subs = param.split(':').map(number);
                match subs.next() {
                    Some(38) => style.fg = extended(&mut subs, true).or(style.fg),
                    Some(48) => style.bg = extended(&mut subs, true).or(style.bg),
                    _ => {}
                }
                continue;
            }
            match number(param) {
                0 => style = Style::default(),
                1 => style.bold = true,
                22 => style.bold = false,
                n @ 30..=37 => style.fg = Some(Colour::Indexed((n - 30) as u8)),
                n @ 90..=97 => style.fg = Some(Colour::Indexed((n - 90 + 8) as u8)),
                39 => style.fg = None,
                n @ 40..=47 => style.bg = Some(Colour::Indexed((n - 40) as u8)),
                n @ 100..=107 => style.bg = Some(Colour::Indexed((n - 100 + 8) as u8)),
                49 => style.bg = None,
                38 => style.fg = extended(&mut (&mut list).map(number), false).or(style.fg),
                48 => style.bg = extended(&mut (&mut list).map(number), false).or(style.bg),
                // Italic, underline, blink, inverse…: not rendered.
                _ => {}
            }
        }
        self.style = style;
    }

    fn finish(mut self) -> Styled {
        self.close_run();
        Styled {
            text: self.text,
            runs: self.runs,
        }
    }
}

/// A parameter as a number (empty is 0; too large saturates, and is then
/// no valid code or colour).
fn number(p: &str) -> u32 {
    p.bytes()
        .try_fold(0u32, |n, d| {
            d.is_ascii_digit()
                .then(|| n.saturating_mul(10).saturating_add(u32::from(d - b'0')))
        })
        .unwrap_or(u32::MAX)
}

/// The colour after 38/48: `5;n` or `2;r;g;b` (with colons, `2` may be
/// followed by an empty colour-space id). None when malformed.
fn extended(rest: &mut impl Iterator<Item = u32>, colons: bool) -> Option<Colour> {
    match rest.next()? {
        5 => indexed(u8::try_from(rest.next()?).ok()?),
        2 => {
            // `2;r;g;b`, or with colons `2:r:g:b` / `2:cs:r:g:b`.
            let mut values: Vec<u32> = rest.take(if colons { 4 } else { 3 }).collect();
            if values.len() == 4 {
                values.remove(0);
            }
            match values[..] {
                [r, g, b, ..] => Some(Colour::Rgb(
                    u8::try_from(r).ok()?,
                    u8::try_from(g).ok()?,
                    u8::try_from(b).ok()?,
                )),
                _ => None,
            }
        }
        _ => None,
    }
}

/// One of the 256 colours: the 16 of the palette, then xterm's 6×6×6 cube
/// and 24 greys.
fn indexed(n: u8) -> Option<Colour> {
    Some(match n {
        0..=15 => Colour::Indexed(n),
        16..=231 => {
            let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
            let c = n - 16;
            Colour::Rgb(level(c / 36), level(c / 6 % 6), level(c % 6))
        }
        _ => {
            let v = 8 + 10 * (n - 232);
            Colour::Rgb(v, v, v)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runs as (text, style) pairs.
    fn runs(line: &str) -> Vec<(String, Style)> {
        let s = parse(line);
        s.runs
            .iter()
            .map(|(r, st)| (s.text[r.clone()].to_string(), *st))
            .collect()
    }

    fn fg(c: Colour) -> Style {
        Style {
            fg: Some(c),
            ..Style::default()
        }
    }

    #[test]
    fn plain_lines_are_one_plain_run() {
        let s = parse("hello\tworld");
        assert_eq!(s.text, "hello\tworld");
        assert_eq!(s.runs, vec![(0..11, Style::default())]);
        assert_eq!(parse("").runs, vec![]);
        assert_eq!(parse("crlf\r").text, "crlf");
    }

    #[test]
    fn markup_is_only_text() {
        for hostile in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "&lt;b&gt; \"quotes\" 'single'",
        ] {
            let s = parse(hostile);
            assert_eq!(s.text, hostile, "shown exactly as written");
            assert_eq!(s.runs, vec![(0..hostile.len(), Style::default())]);
        }
        // Markup inside a coloured run is still just text.
        assert_eq!(
            runs("\x1b[31m<script>x</script>\x1b[0m"),
            vec![("<script>x</script>".into(), fg(Colour::Indexed(1)))]
        );
    }

    #[test]
    fn sgr_colours_and_bold() {
        assert_eq!(
            runs("a\x1b[31mred\x1b[0mb"),
            vec![
                ("a".into(), Style::default()),
                ("red".into(), fg(Colour::Indexed(1))),
                ("b".into(), Style::default())
            ]
        );
        let bold_bright_on_blue = Style {
            bold: true,
            fg: Some(Colour::Indexed(11)),
            bg: Some(Colour::Indexed(4)),
        };
        assert_eq!(runs("\x1b[1;93;44mx"), vec![("x".into(), bold_bright_on_blue)]);
        assert_eq!(runs("\x1b[1;31mx\x1b[22;39my")[1], ("y".into(), Style::default()));
        assert_eq!(runs("\x1b[41mx\x1b[49my\x1b[mz").len(), 2, "49 and the empty reset");
        assert_eq!(runs("\x1b[38;5;196mx")[0].1, fg(Colour::Rgb(255, 0, 0)));
        assert_eq!(runs("\x1b[38;5;9mx")[0].1, fg(Colour::Indexed(9)));
        assert_eq!(runs("\x1b[38;5;244mx")[0].1, fg(Colour::Rgb(128, 128, 128)));
        assert_eq!(runs("\x1b[38;2;1;2;3mx")[0].1, fg(Colour::Rgb(1, 2, 3)));
        assert_eq!(runs("\x1b[38:2::1:2:3mx")[0].1, fg(Colour::Rgb(1, 2, 3)));
        assert_eq!(runs("\x1b[38:5:1mx")[0].1, fg(Colour::Indexed(1)));
        assert_eq!(runs("\x1b[48;2;255;135;0mx")[0].1.css(), "background-color:#ff8700;");
        // Out of range colours change nothing; what follows still applies.
        let bold = Style {
            bold: true,
            ..Style::default()
        };
        assert_eq!(runs("\x1b[38;2;300;0;0;1mx")[0].1, bold);
        assert_eq!(runs("\x1b[38;5;256;1mx")[0].1, bold);
        assert!(
            runs("\x1b[38;2;1;2;3;1mx")[0].1.bold,
            "the parameter after the colour applies"
        );
        // Codes berth does not render are ignored.
        assert_eq!(runs("\x1b[4;3;7mx")[0].1, Style::default());
    }

    #[test]
    fn classes_and_css_come_from_numbers_only() {
        let s = Style {
            bold: true,
            fg: Some(Colour::Indexed(1)),
            bg: Some(Colour::Rgb(0, 0, 0)),
        };
        assert_eq!(s.class(), "ansi-bold ansi-fg-1");
        assert_eq!(s.css(), "background-color:#000000;");
        assert_eq!(Style::default().class(), "");
        assert!(Style::default().is_plain());
    }

    #[test]
    fn other_escapes_are_dropped() {
        // A window title (BEL and ST terminated).
        assert_eq!(parse("\x1b]0;pwned\x07after").text, "after");
        assert_eq!(parse("\x1b]0;pwned\x1b\\after").text, "after");
        assert_eq!(parse("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b").text, "alinkb");
        // Clear screen, cursor home and moves, erase line, private modes.
        assert_eq!(parse("\x1b[2J\x1b[Hclear").text, "clear");
        assert_eq!(parse("\x1b[10;20Hx\x1b[2Ky\x1b[?25l\x1b[?1049h").text, "xy");
        // Full reset, save/restore cursor, character sets, keypad.
        assert_eq!(parse("\x1bcx\x1b7y\x1b8\x1b(Bz\x1b=").text, "xyz");
        // DCS strings.
        assert_eq!(parse("\x1bPq#0;2;0;0;0\x1b\\ok").text, "ok");
    }

    #[test]
    fn control_characters_show_inert() {
        assert_eq!(parse("a\x07b\x08c\x00d\x7fe").text, "a␇b␈c␀d␡e");
        assert_eq!(parse("mid\rline").text, "mid␍line");
        assert_eq!(parse("c1\u{9b}31m").text, "c1\u{fffd}31m");
        assert_eq!(parse("tab\tok").text, "tab\tok");
    }

    #[test]
    fn unterminated_and_broken_escapes_show_as_text() {
        assert_eq!(parse("\x1b").text, "␛");
        assert_eq!(parse("x\x1b[31").text, "x␛[31");
        assert_eq!(parse("\x1b]0;title without end").text, "␛]0;title without end");
        assert_eq!(parse("\x1b]0;a\x1b[31mred").text, "␛]0;ared");
        assert_eq!(parse("\x1b[3\u{e9}m").text, "␛[3\u{e9}m");
        assert_eq!(parse("\x1b\x1b[31mx").text, "␛x");
        assert_eq!(parse("\x1b(").text, "␛(");
        // SGR with an intermediate is not SGR: dropped.
        assert_eq!(runs("\x1b[1 mx"), vec![("x".into(), Style::default())]);
    }

    #[test]
    fn huge_parameter_lists_are_bounded() {
        let many = format!("\x1b[{}31mx", "1;".repeat(100_000));
        let r = runs(&many);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].0, "x");
        assert!(r[0].1.bold, "the first parameters apply, the rest is ignored");
        let big = format!("\x1b[{}mx", "9".repeat(1000));
        assert_eq!(runs(&big), vec![("x".into(), Style::default())]);
        let many_colours = format!("\x1b[{}mx", "38;5;".repeat(20_000));
        assert_eq!(parse(&many_colours).text, "x");
    }

    #[test]
    fn runs_cover_the_text_and_merge_equal_styles() {
        let s = parse("a\x1b[31m\x1b[31mb\x1b[0m\x1b[0mc\x1b[Kd");
        assert_eq!(s.text, "abcd");
        assert_eq!(
            s.runs,
            vec![
                (0..1, Style::default()),
                (1..2, fg(Colour::Indexed(1))),
                (2..4, Style::default())
            ]
        );
        let s = parse("\x1b[31m");
        assert!(s.text.is_empty() && s.runs.is_empty());
    }
}
