//! `sessions demo`: placeholder, filled in below.
use clap::Args;
use sessions_core::Result;

use crate::Ctx;

#[derive(Debug, Args)]
pub struct DemoArgs {}

pub fn run(_ctx: &mut Ctx, _args: DemoArgs) -> Result<u8> {
    Ok(0)
}
