//! The `dyngroups` binary: parse the command line, run, print the error chain once, exit with a documented code.

fn main() {
    std::process::exit(dyngroups::cli::main());
}
