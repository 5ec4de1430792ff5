//! Secret values masked in the streams berth keeps or shows (a deploy's
//! output, a service's logs), including a value split across two or more
//! chunks. It masks the raw value only: not its base64, URL or JSON forms.

use std::fmt;
use std::sync::Arc;

/// What a secret's value is replaced with.
pub const MASK: &[u8] = b"[masked]";

/// Replaces every secret value in a stream with `[masked]`.
///
/// Values shorter than [`Masker::MIN_LEN`] are ignored (masking `a` would
/// mangle all output and reveal the value by where the masks fall); the
/// stacks layer refuses such secrets when they are saved, so none reach here
/// in practice. Where two values match at one position, the longest wins.
///
/// A clone shares the values but has its own held-back bytes: clone one
/// masker per stream.
#[derive(Clone)]
pub struct Masker {
    /// Longest first, so the first full match at a position is the longest.
    secrets: Arc<[Box<[u8]>]>,
    /// The first bytes of the secrets, to skip quickly over plain output.
    starts: Arc<[bool; 256]>,
    /// Bytes that might be the start of a secret split across chunks.
    held: Vec<u8>,
}

impl Masker {
    /// Values shorter than this (in bytes) are not masked.
    pub const MIN_LEN: usize = 4;

    pub fn new(values: impl IntoIterator<Item = impl AsRef<str>>) -> Masker {
        let mut secrets: Vec<Box<[u8]>> = values
            .into_iter()
            .filter(|v| v.as_ref().len() >= Self::MIN_LEN)
            .map(|v| v.as_ref().as_bytes().into())
            .collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        let mut starts = [false; 256];
        for s in &secrets {
            starts[usize::from(s[0])] = true;
        }
        Masker {
            secrets: secrets.into(),
            starts: Arc::new(starts),
            held: Vec::new(),
        }
    }

    /// What is safe to emit after `chunk`, masked. Holds back at most the
    /// longest value's length less one byte: a tail that may be the start
    /// of a value the next chunk completes.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.secrets.is_empty() {
            return chunk.to_vec();
        }
        let mut input = std::mem::take(&mut self.held);
        input.extend_from_slice(chunk);
        let mut out = Vec::with_capacity(input.len());
        let consumed = self.scan(&input, false, &mut out);
        self.held = input[consumed..].to_vec();
        out
    }

    /// Everything still held back, masked: call it when the stream ends.
    pub fn finish(&mut self) -> Vec<u8> {
        let input = std::mem::take(&mut self.held);
        let mut out = Vec::with_capacity(input.len());
        self.scan(&input, true, &mut out);
        out
    }

    /// `text` with every value masked, in one go (no state kept).
    pub fn mask(&self, text: &str) -> String {
        let mut out = Vec::with_capacity(text.len());
        self.scan(text.as_bytes(), true, &mut out);
        // Values are whole UTF-8 strings, so a match starts and ends on a
        // character boundary of `text` and the result stays UTF-8.
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Writes `input` masked to `out` and returns how many bytes it took;
    /// unless `last`, it stops before a tail that is a proper prefix of a
    /// value.
    fn scan(&self, input: &[u8], last: bool, out: &mut Vec<u8>) -> usize {
        let mut plain = 0; // start of the bytes not yet copied to `out`
        let mut i = 0;
        while i < input.len() {
            if !self.starts[usize::from(input[i])] {
                i += 1;
                continue;
            }
            let rest = &input[i..];
            if !last && self.secrets.iter().any(|s| s.len() > rest.len() && s.starts_with(rest)) {
                // A longer value may still match here: wait for more.
                out.extend_from_slice(&input[plain..i]);
                return i;
            }
            if let Some(s) = self.secrets.iter().find(|s| rest.starts_with(s)) {
                out.extend_from_slice(&input[plain..i]);
                out.extend_from_slice(MASK);
                i += s.len();
                plain = i;
            } else {
                i += 1;
            }
        }
        out.extend_from_slice(&input[plain..]);
        input.len()
    }
}

impl fmt::Debug for Masker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Masker")
            .field("secrets", &self.secrets.len())
            .field("held_bytes", &self.held.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(masker: &mut Masker, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in chunks {
            out.extend(masker.push(c));
        }
        out.extend(masker.finish());
        out
    }

    #[test]
    fn a_value_split_in_two_at_every_point_is_masked() {
        let text = b"token=hunter2-secret; done";
        for cut in 0..=text.len() {
            let mut m = Masker::new(["hunter2-secret"]);
            let out = stream(&mut m, &[&text[..cut], &text[cut..]]);
            assert_eq!(out, b"token=[masked]; done", "cut at {cut}");
        }
    }

    #[test]
    fn a_value_split_in_three_at_every_pair_of_points_is_masked() {
        let text = b"a hunter2-secret b hunter2-secret";
        for i in 0..=text.len() {
            for j in i..=text.len() {
                let mut m = Masker::new(["hunter2-secret"]);
                let out = stream(&mut m, &[&text[..i], &text[i..j], &text[j..]]);
                assert_eq!(out, b"a [masked] b [masked]", "cuts at {i} and {j}");
            }
        }
    }

    #[test]
    fn the_longest_of_values_that_prefix_each_other_wins() {
        let m = Masker::new(["pass", "password", "password123"]);
        assert_eq!(
            m.mask("password123 password pass passw"),
            "[masked] [masked] [masked] [masked]w"
        );
        // The same byte by byte: `pass` must not be emitted before the
        // stream shows whether `password123` follows.
        let text = b"x password123 y password z pass";
        let mut m = m.clone();
        let chunks: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(stream(&mut m, &chunks), b"x [masked] y [masked] z [masked]");
    }

    #[test]
    fn plain_output_passes_unchanged_and_is_held_back_only_where_a_value_may_start() {
        let mut m = Masker::new(["s3cr3t-value"]);
        assert_eq!(m.push(b"nothing to see here\n"), b"nothing to see here\n");
        // A tail that starts a value is held back, no more than that.
        assert_eq!(m.push(b"almost s3cr3t-va"), b"almost ");
        assert_eq!(m.push(b"riant\n"), b"s3cr3t-variant\n");
        let held = m.push(b"end s3cr3t-valu");
        assert_eq!(held, b"end ");
        assert!(m.held.len() < "s3cr3t-value".len());
        assert_eq!(m.finish(), b"s3cr3t-valu");
        // No values: everything passes at once.
        let mut none = Masker::new(Vec::<String>::new());
        assert_eq!(none.push(b"s3cr3t-va"), b"s3cr3t-va");
    }

    #[test]
    fn multi_byte_utf8_values_are_masked_in_text_and_across_chunks() {
        let secret = "pässwörd-🔑";
        let text = format!("ключ: {secret}, ещё {secret}!");
        let m = Masker::new([secret]);
        assert_eq!(m.mask(&text), "ключ: [masked], ещё [masked]!");
        let bytes = text.as_bytes();
        for cut in 0..=bytes.len() {
            let mut m = m.clone();
            let out = stream(&mut m, &[&bytes[..cut], &bytes[cut..]]);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                "ключ: [masked], ещё [masked]!",
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn short_values_are_ignored_and_debug_never_shows_a_value() {
        let m = Masker::new(["abc", "", "longer-one"]);
        assert_eq!(m.mask("abc longer-one"), "abc [masked]");
        let debug = format!("{m:?}");
        assert!(!debug.contains("longer-one") && !debug.contains("abc"), "{debug}");
    }
}
