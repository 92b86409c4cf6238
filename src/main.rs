//! `netpath ARGS_FILE` runs as an Ansible module (`netpath -`: the args JSON
//! on stdin, as the collection's action sends it); `netpath COMMAND ...` is
//! the human CLI on the same code.

use std::io::Write;

fn main() {
    // A panic must still give Ansible JSON, never a bare backtrace.
    std::panic::set_hook(Box::new(|info| {
        let msg = serde_json::json!({
            "failed": true,
            "changed": false,
            "msg": format!("netpath internal error (please report it): {info}"),
        });
        println!("{msg}");
    }));
    let args: Vec<String> = std::env::args().collect();
    let argv0 = args
        .first()
        .map(|a| a.rsplit('/').next().unwrap_or(a).to_string());
    let code = match args.get(1).map(String::as_str) {
        Some(first)
            if args.len() == 2
                && !netpath::cli::is_command(first)
                && (first == "-" || !first.starts_with('-')) =>
        {
            let out = netpath::ansible::run(first, argv0.as_deref());
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{out}");
            0
        }
        _ => netpath::cli::main(&args[1..]),
    };
    std::process::exit(code);
}
