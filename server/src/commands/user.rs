//! `berth user add|list`.

use crate::cli::UserCommand;
use crate::config::Config;
use anyhow::{Context, bail};
use berth_core::access::Caller;
use berth_core::auth::Auth;
use berth_core::events::EventLog;
use berth_core::model::Role;
use berth_core::store::{Store, StoreError};
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("cannot read the password")?;
        let second = rpassword::prompt_password("Password again: ").context("cannot read the password")?;
        if first != second {
            bail!("the two passwords differ; nothing was changed");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        if password.is_empty() {
            bail!("no password on standard input; pipe one in, or run in a terminal to be asked");
        }
        Ok(password)
    }
}

pub(crate) fn user(config: Config, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let store = match Store::open(&config.db_path()) {
        Ok(store) => store,
        Err(StoreError::Locked { path }) => bail!(
            "berth is running and holds {}, so the command line cannot change users now.\n\
             Manage users while it runs on its Users page, or through the API with an admin's API key \
             (create one on your account page), for example:\n  \
             curl -H 'Authorization: Bearer berth_…' -H 'Content-Type: application/json' \\\n    \
             -d '{{\"name\": \"bob\", \"password\": \"…\", \"role\": \"user\"}}' {}/api/v1/users\n\
             or stop the server first.",
            path.display(),
            config
                .public_origin()
                .unwrap_or_else(|| format!("http://{}", config.listen))
        ),
        Err(e) => return Err(e.into()),
    };
    super::runtime()?.block_on(async move {
        let events = EventLog::open(&store)?;
        let auth = Auth::new(store.clone(), events.clone());
        let cli = Caller::system("cli");
        match cmd {
            UserCommand::Add { name, admin } => {
                let password = read_password()?;
                let role = if admin { Role::Admin } else { Role::User };
                let user = auth.create_user(&cli, &name, &password, role).await?;
                println!(
                    "added {} user '{}' (id {})",
                    if admin { "admin" } else { "regular" },
                    user.name,
                    user.id
                );
            }
            UserCommand::List => {
                for u in auth.users(&cli).await? {
                    let role = u.role.as_str();
                    println!(
                        "{:>4}  {:<20} {:<6} created {}",
                        u.id,
                        u.name,
                        role,
                        berth_core::model::format_ts(u.created_ns)
                    );
                }
            }
        }
        events.close().await?;
        Ok(ExitCode::SUCCESS)
    })
}
