//! A deploy's output while it runs: every line masked, kept up to a cap
//! (then counted, not kept), hashed, stored in chunks as steps end, and
//! sent live to whoever follows. Someone who starts following mid-deploy
//! gets what was kept so far and then the rest live, with nothing lost
//! or doubled between the two (both are taken under one lock).

use crate::model::DeployId;
use sha2::{Digest, Sha256};
use std::sync::Mutex;
use tokio::sync::broadcast;

/// The most output kept per deploy; past it, lines are counted and
/// dropped (the steps' own lines are still kept).
pub const DEPLOY_LOG_CAP: usize = 1024 * 1024;

/// What a follower receives.
#[derive(Clone, Debug, PartialEq)]
pub enum Live {
    /// Lines of output, each ending in a newline.
    Text(String),
    /// The deploy ended.
    Done,
}

pub(crate) struct Output {
    pub id: DeployId,
    state: Mutex<State>,
    live: broadcast::Sender<Live>,
}

struct State {
    kept: Vec<u8>,
    /// How much of `kept` is in the store already.
    stored: usize,
    chunks: u32,
    dropped: u64,
    hash: Sha256,
    done: bool,
}

impl Output {
    pub fn new(id: DeployId) -> Output {
        Output {
            id,
            state: Mutex::new(State {
                kept: Vec::new(),
                stored: 0,
                chunks: 0,
                dropped: 0,
                hash: Sha256::new(),
                done: false,
            }),
            live: broadcast::channel(1024).0,
        }
    }

    /// Adds one line of a command's output (already masked).
    pub fn line(&self, text: &str) {
        self.push(text, false);
    }

    /// Adds one of berth's own lines (a step starting, a verdict): kept
    /// even past the cap.
    pub fn note(&self, text: &str) {
        self.push(&format!("==> {text}"), true);
    }

    fn push(&self, text: &str, always: bool) {
        let mut line = text.replace('\r', "");
        line.push('\n');
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.done {
            return;
        }
        if !always && s.kept.len() + line.len() > DEPLOY_LOG_CAP {
            if s.dropped == 0 {
                let notice = format!("==> output past {} KiB is not kept\n", DEPLOY_LOG_CAP / 1024);
                s.hash.update(notice.as_bytes());
                s.kept.extend_from_slice(notice.as_bytes());
                let _ = self.live.send(Live::Text(notice));
            }
            s.dropped += line.len() as u64;
            let _ = self.live.send(Live::Text(line));
            return;
        }
        s.hash.update(line.as_bytes());
        s.kept.extend_from_slice(line.as_bytes());
        let _ = self.live.send(Live::Text(line));
    }

    /// What was kept so far, and the live feed from there on.
    pub fn follow(&self) -> (String, Option<broadcast::Receiver<Live>>) {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let so_far = String::from_utf8_lossy(&s.kept).into_owned();
        (so_far, (!s.done).then(|| self.live.subscribe()))
    }

    /// The kept bytes not yet stored, with their chunk number.
    pub fn unstored(&self) -> Option<(u32, Vec<u8>)> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.stored == s.kept.len() {
            return None;
        }
        let chunk = (s.chunks, s.kept[s.stored..].to_vec());
        s.stored = s.kept.len();
        s.chunks += 1;
        Some(chunk)
    }

    /// Ends the output: followers are told; the SHA-256 of what was kept
    /// (hex) and the bytes dropped past the cap.
    pub fn finish(&self) -> (String, u64) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.done = true;
        let _ = self.live.send(Live::Done);
        (hex::encode(s.hash.clone().finalize()), s.dropped)
    }

    /// The SHA-256 of what was kept so far (hex).
    pub fn digest(&self) -> String {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        hex::encode(s.hash.clone().finalize())
    }

    pub fn truncated(&self) -> bool {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).dropped > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_late_follower_gets_what_was_kept_then_the_rest() {
        let out = Output::new(DeployId(1));
        out.note("fetch");
        out.line("one");
        let (so_far, rx) = out.follow();
        let mut rx = rx.unwrap();
        out.line("two");
        out.finish();
        assert_eq!(so_far, "==> fetch\none\n");
        assert_eq!(rx.try_recv().unwrap(), Live::Text("two\n".into()));
        assert_eq!(rx.try_recv().unwrap(), Live::Done);
        assert!(out.follow().1.is_none(), "nothing live after the end");
    }

    #[test]
    fn output_past_the_cap_is_counted_not_kept_but_notes_are() {
        let out = Output::new(DeployId(1));
        let line = "x".repeat(1000);
        for _ in 0..(DEPLOY_LOG_CAP / 1000 + 100) {
            out.line(&line);
        }
        out.note("up");
        let (kept, _) = out.follow();
        assert!(kept.len() <= DEPLOY_LOG_CAP + 200, "{}", kept.len());
        assert!(kept.contains("is not kept"));
        assert!(kept.ends_with("==> up\n"));
        assert!(out.truncated());
        let (_, dropped) = out.finish();
        assert!(dropped >= 100 * 1001);
    }

    #[test]
    fn chunks_are_handed_out_once() {
        let out = Output::new(DeployId(1));
        out.line("a");
        assert_eq!(out.unstored(), Some((0, b"a\n".to_vec())));
        assert_eq!(out.unstored(), None);
        out.line("b");
        assert_eq!(out.unstored(), Some((1, b"b\n".to_vec())));
    }
}
