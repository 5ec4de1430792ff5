//! A terminal in a container as the browser, the REST API and the agent see
//! it: what to run and as whom (`ExecSpec`, checked here, in words for the
//! person), the terminal a ticket opens (`TerminalTarget`), how the process
//! ended (`ExecExit`), and what the REST API hands out (`TerminalTicket`).
//! Not here: running it (`hosts`, `terminal`), the recording (`asciicast`).

use serde::{Deserialize, Serialize};

/// What a terminal's `TERM` is: what xterm.js emulates.
pub const TERM: &str = "xterm-256color";
/// The longest command line accepted, in bytes.
pub const MAX_COMMAND: usize = 4096;
/// The most words in a command.
pub const MAX_ARGS: usize = 64;
/// The longest user accepted (`name`, `uid`, `name:group`, `uid:gid`).
pub const MAX_USER: usize = 64;

/// What to run in a container, with a TTY of `cols` × `rows`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecSpec {
    /// The command and its arguments; `None`: the container's shell
    /// (`/bin/bash` where there is one, else `/bin/sh`).
    pub command: Option<Vec<String>>,
    /// Run as this user (`name`, `uid`, `name:group`, `uid:gid`); `None`:
    /// the container's own user.
    pub user: Option<String>,
    pub cols: u16,
    pub rows: u16,
}

impl ExecSpec {
    /// Checks every field; the error says what is wrong and what to do.
    pub fn validate(&self) -> Result<(), String> {
        super::validate_term_size(self.cols, self.rows)?;
        if let Some(command) = &self.command {
            validate_command(command)?;
        }
        if let Some(user) = &self.user {
            validate_user(user)?;
        }
        Ok(())
    }

    /// How the command reads in events and on pages.
    pub fn command_text(&self) -> String {
        match &self.command {
            Some(words) => join_command(words),
            None => "(the container's shell: /bin/bash, else /bin/sh)".into(),
        }
    }
}

/// The terminal a ticket opens: which container, what runs there, as whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalTarget {
    /// The container's full id (resolved when the ticket was issued).
    pub container: String,
    /// Its name, for the record.
    pub name: String,
    pub command: Option<Vec<String>>,
    pub user: Option<String>,
}

/// How an exec's process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecEnd {
    /// It exited by itself (the person typed `exit`...).
    Exited,
    /// berth hung it up (SIGHUP, as a closed terminal does) and it ended.
    HungUp,
    /// It ignored the hangup and was killed (SIGKILL).
    Killed,
    /// It still ran and could not be stopped (its process id was not known:
    /// the container has no /bin/sh); the engine has it.
    LeftRunning,
    /// The engine (or the agent) went away; what became of it is unknown.
    Unknown,
}

/// What the engine says of an ended exec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecExit {
    pub exit_code: Option<i64>,
    pub ended: ExecEnd,
}

/// A ticket for `/ws/terminal`, as the REST API hands it out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerminalTicket {
    /// One use, within a minute.
    pub ticket: String,
    /// Where to open it: add `&cols=..&rows=..` (the terminal's size).
    pub path: String,
}

/// What a person may ask for a terminal, from a form or the API: the
/// command as one line (empty: the shell), the user (empty: the container's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TerminalRequest {
    /// A command line, split into words like a shell would (quotes and
    /// backslashes; no variables, globs or pipes). Empty: the shell.
    #[serde(default)]
    pub command: Option<String>,
    /// `name`, `uid`, `name:group` or `uid:gid`. Empty: the container's user.
    #[serde(default)]
    pub user: Option<String>,
}

impl TerminalRequest {
    /// The command's words and the user, checked; blanks mean "the default".
    pub fn parse(&self) -> Result<(Option<Vec<String>>, Option<String>), String> {
        let command = match self.command.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(line) => Some(split_command(line)?),
        };
        let user = match self.user.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) => {
                validate_user(u)?;
                Some(u.to_string())
            }
        };
        Ok((command, user))
    }
}

/// Splits a command line into words the way a shell reads quotes: 'single'
/// quotes keep everything, "double" quotes and a backslash keep the next
/// character. Nothing is expanded.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    if line.len() > MAX_COMMAND {
        return Err(format!("the command is {} bytes; at most {MAX_COMMAND}", line.len()));
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("the command has a ' without its closing '".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => word.push(c),
                            None => return Err("the command ends with a lone \\".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("the command has a \" without its closing \"".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => {
                    in_word = true;
                    word.push(c);
                }
                None => return Err("the command ends with a lone \\".into()),
            },
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    validate_command(&words)?;
    Ok(words)
}

/// A command as one line, quoted where a word needs it (for the record).
pub fn join_command(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let plain = !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
            if plain {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A command's words: one to `MAX_ARGS`, no control characters, not too long.
pub fn validate_command(words: &[String]) -> Result<(), String> {
    if words.is_empty() || words[0].is_empty() {
        return Err("the command is empty: leave it blank for the container's shell".into());
    }
    if words.len() > MAX_ARGS {
        return Err(format!("the command has {} words; at most {MAX_ARGS}", words.len()));
    }
    let total: usize = words.iter().map(|w| w.len() + 1).sum();
    if total > MAX_COMMAND {
        return Err(format!("the command is {total} bytes; at most {MAX_COMMAND}"));
    }
    if words.iter().any(|w| w.chars().any(char::is_control)) {
        return Err("the command may not hold control characters (tabs, newlines, escapes)".into());
    }
    Ok(())
}

/// A user as the engine takes it: `name`, `uid`, `name:group` or `uid:gid`,
/// each part 1 to 32 of a-z, A-Z, 0-9, '.', '_', '-'.
pub fn validate_user(user: &str) -> Result<(), String> {
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 32
            && !p.starts_with('-')
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    let ok = user.len() <= MAX_USER
        && match user.split_once(':') {
            Some((u, g)) => part_ok(u) && part_ok(g),
            None => part_ok(user),
        };
    if !ok {
        let shown: String = user.chars().filter(|c| !c.is_control()).take(MAX_USER).collect();
        return Err(format!(
            "'{shown}' is not a user: give a name or uid, optionally with ':group' or ':gid' (letters, digits, '.', '_', '-')"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split_command(line).unwrap()
    }

    #[test]
    fn commands_split_like_a_shell_reads_quotes_and_nothing_else() {
        assert_eq!(words("ls -la /tmp"), ["ls", "-la", "/tmp"]);
        assert_eq!(words("  sh   -c 'echo $HOME; ls' "), ["sh", "-c", "echo $HOME; ls"]);
        assert_eq!(words(r#"echo "a \"b\" c" d\ e ''"#), ["echo", r#"a "b" c"#, "d e", ""]);
        assert!(split_command("echo 'open").unwrap_err().contains("closing '"));
        assert!(split_command("echo \"open").is_err());
        assert!(split_command("echo \\").is_err());
        assert!(split_command("   ").unwrap_err().contains("empty"));
        assert!(split_command("echo \u{1b}[31m").unwrap_err().contains("control"));
        assert!(split_command(&"a ".repeat(MAX_ARGS + 1)).unwrap_err().contains("words"));
        assert!(
            split_command(&"x".repeat(MAX_COMMAND + 1))
                .unwrap_err()
                .contains("bytes")
        );
        let tricky = words(r#"sh -c 'it'"'"'s' "x y""#);
        assert_eq!(words(&join_command(&tricky)), tricky);
        assert_eq!(join_command(&words("ls -la /tmp")), "ls -la /tmp");
    }

    #[test]
    fn users_and_specs_are_checked_with_a_reason() {
        for ok in ["root", "1000", "www-data:www-data", "1000:1000", "app.user"] {
            assert!(validate_user(ok).is_ok(), "{ok}");
        }
        for bad in ["", ":", "root:", "-u", "a b", "root;rm", "x".repeat(40).as_str()] {
            assert!(validate_user(bad).is_err(), "{bad}");
        }
        let spec = ExecSpec {
            command: None,
            user: None,
            cols: 80,
            rows: 24,
        };
        assert!(spec.validate().is_ok());
        assert!(
            ExecSpec {
                cols: 0,
                ..spec.clone()
            }
            .validate()
            .is_err()
        );
        assert!(
            ExecSpec {
                user: Some("a b".into()),
                ..spec.clone()
            }
            .validate()
            .is_err()
        );
        let req = TerminalRequest {
            command: Some("  ".into()),
            user: Some("".into()),
        };
        assert_eq!(req.parse().unwrap(), (None, None));
        let req = TerminalRequest {
            command: Some("top -d 1".into()),
            user: Some("nobody".into()),
        };
        assert_eq!(
            req.parse().unwrap(),
            (Some(vec!["top".into(), "-d".into(), "1".into()]), Some("nobody".into()))
        );
    }
}
