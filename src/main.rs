//! The `tact` command: parses the flags once and hands over to [`tact::cli`].

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = tact::cli::Cli::parse();
    tact::cli::init_tracing(cli.verbose);
    match tact::cli::run(cli) {
        Ok(code) => code,
        // The reader of our output has gone (`| head`): end quietly, as ripgrep does.
        Err(e) if tact::cli::is_closed_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", tact::cli::error_report(&e));
            std::process::ExitCode::from(2)
        }
    }
}
