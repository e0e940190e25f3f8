//! `foodstream-local`: the local stack's command line. For now: `token`,
//! which mints a bearer token the local gateway accepts (`make token`).

use clap::{Parser, Subcommand};
use foodstream_local::jwt::{self, Claims};

#[derive(Parser)]
#[command(about = "foodstream's local stack")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a bearer token for the local API (HS256, LOCAL_JWT_SECRET).
    Token {
        /// customer, owner or operator
        #[arg(long, value_parser = ["customer", "owner", "operator"])]
        role: String,
        /// The user id (the token's `sub`).
        #[arg(long)]
        sub: String,
        /// The store an owner runs (required for owners).
        #[arg(long)]
        store: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    match Cli::parse().command {
        Command::Token { role, sub, store, ttl } => {
            if role == "owner" && store.is_none() {
                return Err("an owner token needs --store (the store the owner runs)".into());
            }
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
            let claims = Claims::new(&sub, &role, store.as_deref(), now, ttl);
            println!("{}", jwt::mint(&claims, &jwt::secret_from_env())?);
        }
    }
    Ok(())
}
