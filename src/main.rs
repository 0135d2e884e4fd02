fn main() -> std::process::ExitCode {
    sessions::main_with(std::env::args_os())
}
