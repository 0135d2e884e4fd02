fn main() -> std::process::ExitCode {
    sessions::main_entry(std::env::args_os().collect())
}
