//! The pure planner: (config, org, remembered state) -> plan. No I/O, no clock, deterministic order.
//! (Being built: see issue 5.)

pub mod model;
