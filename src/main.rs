use anyhow::Context;
use clap::{Parser, Subcommand};
use palaver::Config;
use palaver::auth::token::{KeySource, Secret};
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// palaver: a self-hosted, multi-room, real-time chat server.
#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Serve chat (the default when no command is given).
    Serve(Box<Config>),
    /// Load-test one or more running servers (see docs/benchmarks.md): runs
    /// the palaver-bench binary beside this one with the same arguments.
    #[command(disable_help_flag = true)]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Look after a server's data; works while that server runs.
    Admin {
        #[command(flatten)]
        store: StoreArgs,
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// Which store an admin command works on: the same flags and variables as
/// `serve`, so that it finds the server's data.
#[derive(clap::Args)]
struct StoreArgs {
    /// The server's data directory (its SQLite database is inside).
    #[arg(long, env = "PALAVER_DATA_DIR", default_value = "data", global = true)]
    data_dir: PathBuf,
    /// The server's database, if not SQLite in the data directory.
    #[arg(long, env = "PALAVER_DATABASE_URL", global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Invite codes for `--registration invite`.
    #[command(subcommand)]
    Invite(InviteCommand),
    /// Server admins and disabled accounts.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Make NAME a server admin (how the first admin is made).
    Promote { name: String },
    /// Take NAME's admin rights away; signs them out everywhere.
    Demote { name: String },
    /// Sign NAME out everywhere and refuse their logins until `enable`; a
    /// running server closes their sockets within seconds.
    Disable { name: String },
    /// Let NAME log in again.
    Enable { name: String },
}

#[derive(Subcommand)]
enum InviteCommand {
    /// Create a code and print it (once: only its hash is kept).
    Create {
        /// How many accounts the code may open.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        uses: u32,
        /// How long the code stays valid (e.g. 24h, 7days); unset: until used up.
        #[arg(long, value_parser = humantime::parse_duration)]
        expires: Option<Duration>,
    },
    /// List the codes (id, uses left, expiry; never the codes themselves).
    List,
}

/// glibc raises its mmap threshold after the first large block is freed;
/// from then on argon2's 19 MiB working memory is carved from per-thread
/// arenas and stays resident (seen: 700 MB after 100 logins). A fixed
/// threshold keeps such blocks mmapped, so they go back to the OS when freed.
///
/// The workspace's one use of `unsafe` (denied everywhere else).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn return_large_blocks_to_the_os() {
    // SAFETY: mallopt only changes allocator tuning; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_os() {}

fn main() -> anyhow::Result<()> {
    return_large_blocks_to_the_os();
    let cli = Cli::parse();
    let config = match cli.command {
        Some(Command::Serve(config)) => *config,
        None => cli.serve,
        Some(Command::Bench { args }) => return run_bench(args),
        Some(Command::Admin { store, command }) => return run_admin(store, command),
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(run(config))
}

/// Runs one admin command against the store a server uses. It does not take
/// the data directory's lock, so that it works beside the running server
/// (SQLite's WAL lets a second process write).
fn run_admin(store: StoreArgs, command: AdminCommand) -> anyhow::Result<()> {
    let url = match store.database_url {
        Some(url) => url,
        None => {
            // Not created here: a mistyped --data-dir would otherwise get
            // a fresh database whose codes no server reads.
            let path = palaver::config::sqlite_path(&store.data_dir);
            if !path.exists() {
                anyhow::bail!(
                    "no palaver database at {}: pass the server's --data-dir (or \
                     --database-url), or start the server once first",
                    path.display()
                );
            }
            palaver::config::sqlite_url(&store.data_dir)
        }
    };
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(async move {
            let store = palaver::store::open(&url)
                .await
                .context("cannot open the database")?;
            let invites = palaver::auth::accounts::Invites::new(store.clone());
            let done = match command {
                AdminCommand::Invite(InviteCommand::Create { uses, expires }) => {
                    invites.create(uses, expires).await.map(|created| {
                        println!("{}", created.code);
                    })
                }
                AdminCommand::Invite(InviteCommand::List) => invites.list().await.map(|all| {
                    println!(
                        "{:>6}  {:>9}  {:<27}  expires",
                        "id", "uses left", "created"
                    );
                    for invite in all {
                        let expires = invite.expires_at.map_or_else(
                            || "never".to_owned(),
                            palaver::model::Timestamp::to_rfc3339,
                        );
                        println!(
                            "{:>6}  {:>9}  {:<27}  {expires}",
                            invite.id,
                            invite.uses_left,
                            invite.created_at.to_rfc3339()
                        );
                    }
                }),
                AdminCommand::User(command) => {
                    use palaver::auth::admin::{AccountChange, change_account};
                    let (name, change) = match command {
                        UserCommand::Promote { name } => (name, AccountChange::Promote),
                        UserCommand::Demote { name } => (name, AccountChange::Demote),
                        UserCommand::Disable { name } => (name, AccountChange::Disable),
                        UserCommand::Enable { name } => (name, AccountChange::Enable),
                    };
                    let changed = change_account(store.as_ref(), &name, change).await;
                    store.close().await;
                    let changed = match changed {
                        Err(palaver::auth::AuthError::NoSuchUser) => {
                            anyhow::bail!("no user called {name:?}")
                        }
                        other => other.context("the account could not be changed")?,
                    };
                    let account = &changed.account;
                    println!(
                        "{}: {}, {}{}",
                        account.user.username,
                        if account.admin {
                            "admin"
                        } else {
                            "not an admin"
                        },
                        if account.disabled_at.is_some() {
                            "disabled"
                        } else {
                            "enabled"
                        },
                        match changed.ended.len() {
                            0 => String::new(),
                            n => format!(", {n} session(s) ended"),
                        }
                    );
                    return Ok(());
                }
            };
            store.close().await;
            done.context("the invite could not be stored or read")
        })
}

/// The load generator is its own crate, so that its client stack stays out
/// of the server; `palaver bench` keeps the documented command working.
fn run_bench(args: Vec<OsString>) -> anyhow::Result<()> {
    let bench = bench_binary()?;
    let mut command = std::process::Command::new(&bench);
    command.args(args);
    let missing = || {
        anyhow::anyhow!(
            "{} not found: build it beside this palaver with `cargo build --release --workspace` \
             (or run `cargo run --release -p palaver-bench -- …`)",
            bench.display()
        )
    };
    #[cfg(unix)]
    {
        // Becomes the bench, so that signals and the exit status are its own.
        use std::os::unix::process::CommandExt;
        let err = command.exec();
        if err.kind() == std::io::ErrorKind::NotFound {
            return Err(missing());
        }
        Err(err).with_context(|| format!("cannot run {}", bench.display()))
    }
    #[cfg(not(unix))]
    {
        let status = match command.status() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(missing()),
            other => other.with_context(|| format!("cannot run {}", bench.display()))?,
        };
        std::process::exit(status.code().unwrap_or(1));
    }
}

/// `palaver-bench` in the directory of the running executable, where cargo
/// puts every binary of the workspace.
fn bench_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot tell where this palaver lives")?;
    let dir = exe
        .parent()
        .context("cannot tell where this palaver lives")?;
    Ok(dir.join(format!("palaver-bench{}", std::env::consts::EXE_SUFFIX)))
}

async fn run(mut config: Config) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "palaver=info,warn".into()),
        )
        .init();
    // Each socket is a file: let the server hold as many as the hard limit allows.
    palaver::app::raise_file_limit();
    config.jwt_secret =
        std::env::var_os("PALAVER_JWT_SECRET").map(|s| Secret::new(s.into_encoded_bytes()));
    // The variable's older name, so that an upgrade keeps a deployment's origins.
    if config.allowed_origins.is_empty()
        && let Ok(old) = std::env::var("PALAVER_CORS_ORIGIN")
    {
        config.allowed_origins = old.split(',').map(str::to_owned).collect();
    }

    let server = palaver::serve(config.clone())
        .await
        .context("palaver could not start")?;
    match server.key_source() {
        KeySource::Environment => tracing::info!("token signing key from PALAVER_JWT_SECRET"),
        KeySource::File => tracing::info!("token signing key from the data directory"),
        KeySource::Generated => {
            tracing::info!("generated a token signing key in the data directory");
        }
    }
    println!(
        "palaver serving on http://{} (data in {})",
        server.local_addr(),
        config.data_dir.display()
    );

    let stop = server.shutdown_token();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        stop.cancel();
    });
    server.wait().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
