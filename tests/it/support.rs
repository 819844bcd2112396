//! Shared test context: emulator start-up, temp dirs, the CLI runner, paths into ../shared.
